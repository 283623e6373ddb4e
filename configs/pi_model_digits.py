r"""Π-model on digits, 40 labels (4 per class); FixMatch's network, steps and EMA; ~N CPU-min.

python launch.py --config configs/pi_model_digits.py --workdir /tmp/pi_model_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="pi_model",
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
  config.lambda_u = 10.0
  config.rampup_steps = 600
  config.rampup_shape = "sigmoid"
  config.view = "weak"
  config.augment = config_base.augment()
  return config
