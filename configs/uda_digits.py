r"""UDA on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/uda_digits.py --workdir /tmp/uda_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("uda")
  config.mu = 7
  config.threshold = 0.8
  config.temperature = 0.4
  config.lambda_u = 1.0
  return config
