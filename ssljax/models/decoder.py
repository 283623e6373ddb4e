"""A small convolutional decoder for the reconstruction pretext tasks (inpainting, denoising, deblurring,
colorization): features [B, F] or feature maps [B, h, w, F] -> images [B, H, W, C]."""

import functools
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssljax.models import initializers


class Decoder(nn.Module):
  """A vector is first mapped by a Dense layer to a ceil(H/4) x ceil(W/4) x width grid (the bottleneck of a context
  encoder or an autoencoder); then (2x nearest upsampling -> 3x3 conv -> BN -> ReLU) until the grid is at least
  H x W (at least one such conv block), a bilinear resize where the sides are not a power of two apart, and a 1x1
  conv to out_shape's channels (per-pixel outputs, as the colorization network's last layer). Outputs in float32
  (or float64). `size` (H, W) at call time overrides out_shape's: a fully convolutional decoder (from feature maps)
  decodes images of any size."""

  out_shape: tuple  # (H, W, C)
  width: int = 32
  bn_momentum: float = 0.9
  axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool, size: tuple | None = None):
    h, w, c = self.out_shape
    h, w = size or (h, w)
    conv = functools.partial(
      nn.Conv, kernel_init=initializers.lecun_normal, dtype=self.dtype, param_dtype=self.param_dtype
    )
    norm = functools.partial(
      nn.BatchNorm,
      use_running_average=not train,
      momentum=self.bn_momentum,
      axis_name=self.axis_name,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    if x.ndim == 2:
      h0, w0 = math.ceil(h / 4), math.ceil(w / 4)
      dense = nn.Dense(
        h0 * w0 * self.width, kernel_init=initializers.lecun_normal, dtype=self.dtype, param_dtype=self.param_dtype
      )
      x = nn.relu(dense(x)).reshape((x.shape[0], h0, w0, self.width))
    first = True
    while first or x.shape[1] < h or x.shape[2] < w:
      if x.shape[1] < h or x.shape[2] < w:
        x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
      x = nn.relu(norm()(conv(self.width, (3, 3), padding="SAME", use_bias=False)(x)))
      first = False
    if x.shape[1:3] != (h, w):
      x = jax.image.resize(x, (x.shape[0], h, w, x.shape[3]), "bilinear")
    out = conv(c, (1, 1))(x)
    return out.astype(jnp.promote_types(out.dtype, jnp.float32))
