"""Inpainting, the context encoder (Pathak et al., 2016): hide part of the image behind the mean value and
reconstruct it from the context; the encoder is evaluated as a representation.

Masks (config.mask), drawn per example on device:
  'block'    a config.mask_size square at a uniformly random position inside the image (Pathak's random block);
  'central'  the config.mask_size square at the centre (Pathak's central region);
  'patches'  the image cut into config.patch_size squares, a random config.mask_ratio of them hidden (MAE-style).
Hidden pixels are set to the dataset's per-channel mean (0 after normalisation). The L2 loss covers the hidden
pixels with weight 1 and, as Pathak's overlap, the visible ring of config.border pixels around them with weight
config.border_weight (border=0: the hidden pixels only). The rest (model, evaluation) is
ssljax/methods/reconstruction.py.

results.json adds hidden_mse (the reconstruction's mean squared error on the hidden pixels of the test images, [0, 1]
pixel units) and hidden_mse_mean_fill (the same for the mean-filled input: the baseline to beat); the picture is
reconstructions.png.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import checks, train
from ssljax.errors import ConfigError
from ssljax.methods import reconstruction

MASKS = ("block", "central", "patches")

CHECKS = {
  **reconstruction.CHECKS,
  "mask": checks.one_of(*MASKS),
  "mask_size": checks.POSITIVE_INT,
  "patch_size": checks.POSITIVE_INT,
  "mask_ratio": checks.number(0, 1, lo_open=True, hi_open=True),
  "border": checks.NON_NEGATIVE_INT,
  "border_weight": checks.NON_NEGATIVE,
}


def check_fits(config, shape):
  """ConfigError unless the mask fits images of `shape` (H, W)."""
  h, w = shape
  if config.mask in ("block", "central") and config.mask_size > min(h, w):
    raise ConfigError(f"config.mask_size={config.mask_size} is larger than the {h}x{w} images")
  if config.mask == "patches":
    if h % config.patch_size or w % config.patch_size:
      raise ConfigError(f"config.patch_size={config.patch_size} does not divide the {h}x{w} images")
    if round(config.mask_ratio * (h // config.patch_size) * (w // config.patch_size)) < 1:
      raise ConfigError(f"config.mask_ratio={config.mask_ratio} hides no {config.patch_size}-pixel patch of {h}x{w}")


def dilate(mask, radius: int):
  """Binary dilation of an [H, W, 1] mask by a (2·radius + 1)² square (shifted maxima, zero padding)."""
  if radius <= 0:
    return mask
  h, w, _ = mask.shape
  padded = jnp.pad(mask, ((radius, radius), (radius, radius), (0, 0)))
  shifts = [padded[dy : dy + h, dx : dx + w] for dy in range(2 * radius + 1) for dx in range(2 * radius + 1)]
  return jnp.max(jnp.stack(shifts), axis=0)


def hole(key, shape, config, dtype):
  """The [H, W, 1] mask (1 = hidden) of config.mask, drawn with `key`."""
  h, w = shape
  if config.mask == "patches":
    p = config.patch_size
    n = (h // p) * (w // p)
    ranks = jnp.argsort(jnp.argsort(jax.random.uniform(key, (n,))))
    patches = (ranks < round(config.mask_ratio * n)).astype(dtype).reshape(h // p, w // p)
    return jnp.repeat(jnp.repeat(patches, p, axis=0), p, axis=1)[..., None]
  s = config.mask_size
  if config.mask == "central":
    y0, x0 = (h - s) // 2, (w - s) // 2
  else:
    u = jax.random.uniform(key, (2,))
    y0 = jnp.minimum(jnp.floor(u[0] * (h - s + 1)), h - s).astype(jnp.int32)
    x0 = jnp.minimum(jnp.floor(u[1] * (w - s + 1)), w - s).astype(jnp.int32)
  ys, xs = jnp.arange(h)[:, None, None], jnp.arange(w)[None, :, None]
  return ((ys >= y0) & (ys < y0 + s) & (xs >= x0) & (xs < x0 + s)).astype(dtype)


def corruption(config, ds):
  check_fits(config, ds.train_images.shape[1:3])
  fill = np.asarray(ds.mean)
  border, border_weight = int(config.border), float(config.border_weight)

  def corrupt(key, image):
    hidden = hole(key, image.shape[:2], config, image.dtype)
    weight = hidden + border_weight * (dilate(hidden, border) - hidden)
    return jnp.where(hidden > 0, jnp.asarray(fill, image.dtype), image), weight, hidden

  return corrupt


def hidden_mse(images, references, hidden):
  """Mean squared error over the hidden pixels (all channels) of the whole set."""
  err = np.square(np.asarray(images, np.float64) - np.asarray(references, np.float64)) * hidden
  return float(np.sum(err) / (np.sum(hidden) * images.shape[-1]))


def report(clean, corrupted, recon, hidden):
  return {"hidden_mse": hidden_mse(recon, clean, hidden), "hidden_mse_mean_fill": hidden_mse(corrupted, clean, hidden)}


def build(config) -> train.Task:
  info = {"mask": config.mask}
  return reconstruction.build(config, lambda ds: corruption(config, ds), report, info=info)
