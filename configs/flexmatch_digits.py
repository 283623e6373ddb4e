r"""FlexMatch on digits, 40 labels (4 per class): FixMatch's digits recipe with curriculum pseudo-labelling; the paper
has no digits figure; ~3 CPU-min.

python launch.py --config configs/flexmatch_digits.py --workdir /tmp/flexmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("flexmatch")
  config.mu = 7
  config.threshold = 0.95  # τ, the threshold of a fully learnt class
  config.lambda_u = 1.0
  config.threshold_warmup = True
  config.mapping = "convex"  # M(β) = β / (2 − β), or "linear"
  return config
