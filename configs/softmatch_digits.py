r"""SoftMatch on digits, 40 labels (4 per class): FixMatch's digits recipe with truncated-Gaussian confidence weights
and uniform alignment; the paper has no digits figure; ~3 CPU-min.

python launch.py --config configs/softmatch_digits.py --workdir /tmp/softmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("softmatch")
  config.mu = 7
  config.lambda_u = 1.0
  config.ema_p = 0.999  # EMA decay of the class marginal and of the confidences' mean and variance
  config.n_sigma = 2.0  # the Gaussian's width is σ / n_sigma
  config.uniform_alignment = True
  return config
