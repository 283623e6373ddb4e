r"""SimCLR on digits, then the representation evaluation (probe on the 40-label draw, kNN, NMI); ~7 CPU-min.

python launch.py --config configs/simclr_digits.py --workdir /tmp/simclr_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="simclr",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=3000,
    batch_size=256,
    eval_every=1000,
    checkpoint_every=250,
    optimizer="lars",
    lr=1.0,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.model_kwargs.width = 16  # 64-d features; width 32 costs ~3x per step
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 300
  config.temperature = 0.5
  config.num_views = 2
  config.proj_dim = 64
  config.proj_hidden_dim = 0  # 0: the encoder's feature dim
  config.augment = config_base.augment(
    view="affine", strong_shift=1.0, cutout=0.5, strength=0.5, crop_area=(0.3, 1.0), blur=False
  )
  return config_base.pretraining(config)
