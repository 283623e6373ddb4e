r"""FixMatch on digits, 40 labels (4 per class), the default main job; the paper has no digits figure; ~2 CPU-min.

python launch.py --config configs/fixmatch_digits.py --workdir /tmp/fixmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("fixmatch")
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  return config
