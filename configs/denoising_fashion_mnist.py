r"""Denoising autoencoder on Fashion-MNIST (noise std 0.3, 25% masking), 1000 steps of 64 (~1 epoch); ~15 CPU-min.

python launch.py --config configs/denoising_fashion_mnist.py --workdir /tmp/denoising_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.reconstruction("denoising", "fashion_mnist", weak_shift=2.0)
  config.noise_std = 0.3
  config.mask_fraction = 0.25
  return config
