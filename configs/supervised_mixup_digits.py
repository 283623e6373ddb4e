r"""Supervised baseline for MixMatch on digits: its network, optimiser, weak view, EMA and MixUp, 40 labels; ~1 CPU-min.

python launch.py --config configs/supervised_mixup_digits.py --workdir /tmp/supervised_mixup_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits(
    'supervised', optimizer="adamw", lr=0.002, weight_decay=0.02, schedule="constant"
  )
  config.sup_augment = "weak"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.75
  return config
