r"""Π-model on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/pi_model_digits.py --workdir /tmp/pi_model_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("pi_model")
  config.mu = 1
  config.lambda_u = 10.0
  config.rampup_steps = 600
  config.rampup_shape = "sigmoid"
  config.view = "weak"
  return config
