r"""UDA on CIFAR-10, 40 labels, USB's classic-CV recipe: USB reports 8.01 ± 1.34% error; 2^20 steps.

  python launch.py --config configs/uda_cifar10.py --workdir /tmp/uda_cifar10 \
      --config.data_dir=~/tensorflow_datasets

Follows config/classic_cv/uda/uda_cifar10_40_0.yaml of microsoft/Semi-supervised-learning (the error: its
results/classic_cv.csv): WRN-28-2, SGD Nesterov 0.9, lr 0.03·cos(7πk/16K), weight decay 5e-4, B=64, EMA 0.999; μ=7,
T=0.4, β=0.8, λu=1, no TSA; weak = flip + translate, strong = RandAugment + Cutout. Needs the data prepared: `tfds
build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base


def get_config():
  config = config_base.fixmatch_paper(method="uda", dataset="cifar10", num_labels=40)
  config.mu = 7
  config.threshold = 0.8
  config.temperature = 0.4
  config.lambda_u = 1.0
  return config
