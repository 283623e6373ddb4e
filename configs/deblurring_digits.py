r"""Deblurring on digits: Gaussian blur of sigma in [0.5, 1.5] px, then the representation evaluation; ~2 CPU-min.

python launch.py --config configs/deblurring_digits.py --workdir /tmp/deblurring_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("deblurring", "digits", weak_shift=1.0)
  config.blur_sigma_min = 0.5
  config.blur_sigma_max = 1.5
  return config
