r"""FreeMatch on digits, 40 labels (4 per class): FixMatch's digits recipe with self-adaptive thresholds and the
fairness term; the paper has no digits figure; ~3 CPU-min.

python launch.py --config configs/freematch_digits.py --workdir /tmp/freematch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("freematch")
  config.mu = 7
  config.lambda_u = 1.0
  config.lambda_f = 0.001  # the fairness term's weight
  config.ema_p = 0.999  # EMA decay of the global threshold, class marginal and histogram
  return config
