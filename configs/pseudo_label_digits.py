r"""Pseudo-Label on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/pseudo_label_digits.py --workdir /tmp/pseudo_label_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("pseudo_label")
  config.mu = 1
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.rampup_steps = 600
  config.rampup_shape = "linear"
  config.view = "weak"
  return config
