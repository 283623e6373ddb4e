r"""Supervised baseline with weak views on digits: FixMatch's network, steps and EMA, 40 labels; ~1 CPU-min.

python launch.py --config configs/supervised_weak_digits.py --workdir /tmp/supervised_weak_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("supervised")
  config.sup_augment = "weak"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.0
  return config
