r"""SoftMatch on digits, 40 labels (4 per class): FixMatch's digits recipe with truncated-Gaussian confidence weights
and uniform alignment; the paper has no digits figure; ~3 CPU-min.

python launch.py --config configs/softmatch_digits.py --workdir /tmp/softmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="softmatch",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1500,
    batch_size=64,
    eval_every=500,
    checkpoint_every=250,
    ema_decay=0.999,
    lr=0.03,
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.mu = 7
  config.lambda_u = 1.0
  config.ema_p = 0.999  # EMA decay of the class marginal and of the confidences' mean and variance
  config.n_sigma = 2.0  # the Gaussian's width is σ / n_sigma
  config.uniform_alignment = True
  config.augment = config_base.augment()
  return config
