"""Denoising autoencoder (Vincent et al., 2008): reconstruct the clean image from a corrupted copy; the encoder is
evaluated as a representation.

Corruption, per example on device: additive Gaussian noise of std config.noise_std (in [0, 1] pixel units), then
masking noise: each pixel (all its channels) forced to 0 with probability config.mask_fraction; clipped to [0, 1].
Either may be switched off with 0. The rest (model, loss, evaluation) is ssljax/methods/reconstruction.py.

results.json adds psnr (reconstruction) and psnr_input (the corrupted input), in dB, against the clean test images;
the picture is reconstructions.png.
"""

import jax
import jax.numpy as jnp

from ssljax import augment, checks, train
from ssljax.methods import reconstruction

CHECKS = {
  **reconstruction.CHECKS,
  "noise_std": checks.NON_NEGATIVE,
  "mask_fraction": checks.number(0, 1, hi_open=True),
}


def corruption(noise_std: float, mask_fraction: float):
  def corrupt(key, image):
    k_noise, k_mask = jax.random.split(key)
    noisy = image + noise_std * augment.gaussian(k_noise, image)
    keep = jax.random.uniform(k_mask, image.shape[:2] + (1,), image.dtype) >= mask_fraction
    ones = jnp.ones(image.shape[:2] + (1,), image.dtype)
    return jnp.clip(jnp.where(keep, noisy, 0.0), 0.0, 1.0), ones, ones

  return corrupt


def build(config) -> train.Task:
  return reconstruction.build(
    config,
    lambda ds: corruption(float(config.noise_std), float(config.mask_fraction)),
    reconstruction.psnr_report,
    info={"noise_std": config.noise_std, "mask_fraction": config.mask_fraction},
  )
