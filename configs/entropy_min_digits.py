r"""Entropy minimisation on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/entropy_min_digits.py --workdir /tmp/entropy_min_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("entropy_min")
  config.mu = 1
  config.entropy_weight = 0.3
  config.rampup_steps = 600
  config.rampup_shape = "linear"
  config.view = "weak"
  return config
