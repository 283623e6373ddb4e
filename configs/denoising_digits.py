r"""Denoising autoencoder on digits (Gaussian noise std 0.3, 25% masking noise) + representation evaluation; ~2 CPU-min.

python launch.py --config configs/denoising_digits.py --workdir /tmp/denoising_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("denoising", "digits", weak_shift=1.0)
  config.noise_std = 0.3
  config.mask_fraction = 0.25
  return config
