"""Deblurring: reconstruct the sharp image from a Gaussian-blurred copy of random σ; the encoder is evaluated as a
representation.

Corruption, per example on device: a Gaussian blur (augment.gaussian_blur: separable, edge padding) with σ drawn
uniformly from [config.blur_sigma_min, config.blur_sigma_max] pixels, taps out to ceil(3·blur_sigma_max) (at most
the image side − 1). The rest (model, loss, evaluation) is ssljax/methods/reconstruction.py.

results.json adds psnr (reconstruction) and psnr_input (the blurred input), in dB, against the sharp test images;
the picture is reconstructions.png.
"""

import math

import jax

from ssljax import augment, checks, train
from ssljax.errors import ConfigError
from ssljax.methods import reconstruction

CHECKS = {
  **reconstruction.CHECKS,
  "blur_sigma_min": checks.NON_NEGATIVE,
  "blur_sigma_max": checks.POSITIVE,
}


def check_config(config):
  if config.blur_sigma_max < config.blur_sigma_min:
    raise ConfigError(
      f"config.blur_sigma_max ({config.blur_sigma_max}) must be >= config.blur_sigma_min ({config.blur_sigma_min})"
    )


def corruption(sigma_min: float, sigma_max: float, side: int):
  radius = min(math.ceil(3 * sigma_max), side - 1)

  def corrupt(key, image):
    sigma = augment.between(jax.random.uniform(key, (), image.dtype), sigma_min, sigma_max)
    ones = jax.numpy.ones(image.shape[:2] + (1,), image.dtype)
    return augment.gaussian_blur(image, sigma, radius), ones, ones

  return corrupt


def build(config) -> train.Task:
  return reconstruction.build(
    config,
    lambda ds: corruption(float(config.blur_sigma_min), float(config.blur_sigma_max), min(ds.train_images.shape[1:3])),
    reconstruction.psnr_report,
    info={"blur_sigma_min": config.blur_sigma_min, "blur_sigma_max": config.blur_sigma_max},
  )
