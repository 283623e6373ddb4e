r"""UDA on digits, 40 labels (4 per class): FixMatch's digits network and EMA, twice its 1500 steps (chosen on
seeds 0-2: README, "Semi-supervised").

python launch.py --config configs/uda_digits.py --workdir /tmp/uda_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("uda", total_steps=3000)
  config.mu = 7
  config.threshold = 0.8
  config.temperature = 0.4
  config.lambda_u = 1.0
  return config
