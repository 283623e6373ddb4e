r"""Entropy minimisation on CIFAR-10, 40 labels, on USB's classic-CV recipe; USB has no such row; 2^20 steps.

  python launch.py --config configs/entropy_min_cifar10.py --workdir /tmp/entropy_min_cifar10 \
      --config.data_dir=~/tensorflow_datasets

microsoft/Semi-supervised-learning has no entropy-minimisation algorithm, so this takes the recipe its classic-CV
configs share (config/classic_cv/pseudolabel/pseudolabel_cifar10_40_0.yaml): WRN-28-2, SGD Nesterov 0.9, lr
0.03·cos(7πk/16K), weight decay 5e-4, B=64, EMA 0.999, μ=1, the unlabelled weight ramped up linearly over the
first 40% of steps, weak view; the entropy weight 0.06 is the entropy-penalty multiplier of Oliver et al. (2018),
which USB's VAT also uses for its entropy term. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a
machine with internet.
"""

from ssljax import config_base


def get_config():
  config = config_base.usb_mu1("entropy_min")
  del config.threshold
  del config.lambda_u
  config.entropy_weight = 0.06
  return config
