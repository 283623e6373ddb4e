r"""Supervised baseline with weak views on digits: FixMatch's network, steps and EMA, 40 labels; ~1 CPU-min.

python launch.py --config configs/supervised_weak_digits.py --workdir /tmp/supervised_weak_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="supervised",
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
  config.sup_augment = "weak"
  config.mixup_alpha = 0.0
  config.augment = config_base.augment()
  return config
