r"""Inpainting (context encoder) on digits: a random 4x4 block hidden behind the mean + evaluation; ~2 CPU-min.

python launch.py --config configs/inpainting_digits.py --workdir /tmp/inpainting_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("inpainting", "digits", weak_shift=1.0)
  config.mask = "block"
  config.mask_size = 4
  config.patch_size = 2
  config.mask_ratio = 0.5
  config.border = 0
  config.border_weight = 10.0
  return config
