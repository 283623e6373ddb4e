r"""Pseudo-Label on digits, 40 labels (4 per class); FixMatch's network, steps and EMA; ~N CPU-min.

python launch.py --config configs/pseudo_label_digits.py --workdir /tmp/pseudo_label_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="pseudo_label",
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
  config.mu = 1
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.rampup_steps = 600
  config.rampup_shape = "linear"
  config.view = "weak"
  config.augment = config_base.augment()
  return config
