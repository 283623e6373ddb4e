r"""FixMatch on CIFAR-10 with 250 labels, the paper's recipe (Sohn et al., 2020): 94.93% accuracy (5.07% error).

  python launch.py --config configs/fixmatch_cifar10.py --workdir /tmp/fixmatch_cifar10 \
      --config.data_dir=~/tensorflow_datasets

WRN-28-2 (leaky ReLU 0.1, BN momentum 0.999), SGD Nesterov 0.9, lr 0.03·cos(7πk/16K), K = 2^20 steps, weight
decay 5e-4 on kernels, B=64, μ=7, τ=0.95, λu=1, EMA 0.999; weak = flip + 12.5% translate, strong = RandAugment +
Cutout. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base


def get_config():
  return config_base.fixmatch_paper(dataset="cifar10", num_labels=250)
