r"""Inpainting on Fashion-MNIST: a random 14x14 block hidden, 1000 steps of 64 (~1 epoch) + evaluation; ~15 CPU-min.

python launch.py --config configs/inpainting_fashion_mnist.py --workdir /tmp/inpainting_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("inpainting", "fashion_mnist", weak_shift=2.0)
  config.mask = "block"
  config.mask_size = 14
  config.patch_size = 4
  config.mask_ratio = 0.5
  config.border = 0
  config.border_weight = 10.0
  return config
