"""The small digits CNN: conv32-conv64-maxpool-conv128-global average pool."""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ssljax.errors import ConfigError
from ssljax.models import initializers


class RowDropout(nn.Module):
  """Dropout whose mask for each row comes from the 'dropout' key folded with the row's GLOBAL batch position, so
  that 1 device and N devices drop the same units. The batch must be ONE global batch laid out device by device
  (parallel.global_index), as in the supervised method; a forward over concatenated segments would not be."""

  rate: float
  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, train: bool):
    if not train or self.rate == 0:
      return x
    if not self.has_rng("dropout"):
      raise ConfigError("model_kwargs.dropout > 0 needs a method that draws dropout masks (supervised)")
    key, b = self.make_rng("dropout"), x.shape[0]
    first = lax.axis_index(self.axis_name) * b if self.axis_name else 0
    keep = jax.vmap(lambda i: jax.random.bernoulli(jax.random.fold_in(key, i), 1.0 - self.rate, x.shape[1:]))(
      first + jnp.arange(b)
    )
    return jnp.where(keep, x / (1.0 - self.rate), jnp.zeros_like(x))


class CNN(nn.Module):
  """3x3 SAME convs, each followed by BatchNorm and ReLU; features dim 4 * width; optional dropout on the features
  (Noisy Student's noise; needs a 'dropout' rng in training)."""

  width: int = 32
  bn_momentum: float = 0.9
  dropout: float = 0.0
  axis_name: str | None = None
  dtype: Any = jnp.float32  # activations
  param_dtype: Any = jnp.float32
  pool: bool = True  # False: the last feature map [B, h, w, F] instead of its global average

  @nn.compact
  def __call__(self, x, train: bool):
    def conv_bn_relu(x, features):
      x = nn.Conv(
        features,
        (3, 3),
        padding='SAME',
        use_bias=False,
        kernel_init=initializers.lecun_normal,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
      )(x)
      x = nn.BatchNorm(
        use_running_average=not train,
        momentum=self.bn_momentum,
        axis_name=self.axis_name,
        dtype=self.dtype,
        param_dtype=self.param_dtype,
      )(x)
      return nn.relu(x)

    x = conv_bn_relu(x, self.width)
    x = conv_bn_relu(x, 2 * self.width)
    x = nn.max_pool(x, (2, 2), strides=(2, 2))
    x = conv_bn_relu(x, 4 * self.width)
    if not self.pool:
      return x  # the feature map, for the pretext decoders
    return RowDropout(self.dropout, self.axis_name)(jnp.mean(x, axis=(1, 2)), train)
