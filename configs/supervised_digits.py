r"""Supervised baseline for FixMatch on digits: its network, steps and EMA on the 40 labels alone; ~1 CPU-min.

python launch.py --config configs/supervised_digits.py --workdir /tmp/supervised_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("supervised")
  config.sup_augment = "strong"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.75
  return config
