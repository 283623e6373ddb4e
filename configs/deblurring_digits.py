r"""Deblurring on digits: Gaussian blur of sigma in [0.5, 1.5] px, then the representation evaluation; ~2 CPU-min.

python launch.py --config configs/deblurring_digits.py --workdir /tmp/deblurring_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="deblurring",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1000,
    batch_size=64,
    eval_every=1000,
    checkpoint_every=250,
    optimizer="adamw",
    lr=2e-3,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.warmup_steps = 50
  config.model_kwargs.width = 32
  config.model_kwargs.bn_momentum = 0.9
  config.bottleneck = True
  config.decoder_width = 32
  config.blur_sigma_min = 0.5
  config.blur_sigma_max = 1.5
  config.augment = config_base.augment(weak_shift=1.0, weak_noise=0.0)
  return config
