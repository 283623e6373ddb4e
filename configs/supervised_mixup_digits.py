r"""Supervised baseline for MixMatch on digits: its network, optimiser, weak view, EMA and MixUp, 40 labels; ~1 CPU-min.

python launch.py --config configs/supervised_mixup_digits.py --workdir /tmp/supervised_mixup_digits
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
    optimizer="adamw",
    lr=0.002,
    weight_decay=0.02,
    schedule="constant",
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.sup_augment = "weak"
  config.mixup_alpha = 0.75
  config.augment = config_base.augment()
  return config
