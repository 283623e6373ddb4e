r"""UDA on digits, 40 labels (4 per class); FixMatch's network, steps and EMA; ~N CPU-min.

python launch.py --config configs/uda_digits.py --workdir /tmp/uda_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="uda",
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
  config.threshold = 0.8
  config.temperature = 0.4
  config.lambda_u = 1.0
  config.augment = config_base.augment()
  return config
