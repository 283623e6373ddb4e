r"""Deblurring on Fashion-MNIST (blur sigma in [1, 2.5] px), 1000 steps of 64 (~1 epoch) + evaluation; ~15 CPU-min.

python launch.py --config configs/deblurring_fashion_mnist.py --workdir /tmp/deblurring_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("deblurring", "fashion_mnist", weak_shift=2.0)
  config.blur_sigma_min = 1.0
  config.blur_sigma_max = 2.5
  return config
