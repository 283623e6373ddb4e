r"""FlexMatch on CIFAR-10 with 40 labels, USB's classic-CV recipe: USB reports 5.21 ± 0.36% error (94.79% accuracy).

Follows config/classic_cv/flexmatch/flexmatch_cifar10_40_0.yaml of USB (microsoft/Semi-supervised-learning); the
error is from its results/classic_cv.csv.

  python launch.py --config configs/flexmatch_cifar10.py --workdir /tmp/flexmatch_cifar10 \
      --config.data_dir=~/tensorflow_datasets

WRN-28-2, SGD Nesterov 0.9, lr 0.03·cos(7πk/16K), K = 2^20 steps, weight decay 5e-4, B=64, μ=7, EMA 0.999, τ=0.95
with threshold warm-up and the convex mapping, λu=1, hard pseudo-labels. Needs the data prepared:
`tfds build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base


def get_config():
  config = config_base.fixmatch_paper(method="flexmatch", dataset="cifar10", num_labels=40)
  config.threshold_warmup = True
  config.mapping = "convex"
  return config
