"""The small digits CNN: conv32-conv64-maxpool-conv128-global average pool."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssljax.models import initializers


class CNN(nn.Module):
  """3x3 SAME convs, each followed by BatchNorm and ReLU; features dim 4 * width."""

  width: int = 32
  bn_momentum: float = 0.9
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
    return jnp.mean(x, axis=(1, 2)) if self.pool else x
