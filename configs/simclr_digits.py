r"""SimCLR on digits, then the representation evaluation (probe on the 40-label draw, kNN, NMI); ~7 CPU-min.

python launch.py --config configs/simclr_digits.py --workdir /tmp/simclr_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.simclr_cnn("digits")
  config.augment = config_base.augment(
    view="affine", strong_shift=1.0, cutout=0.5, strength=0.5, crop_area=(0.3, 1.0), blur=False
  )
  return config
