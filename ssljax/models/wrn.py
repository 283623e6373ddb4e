"""Wide ResNet as in FixMatch (google-research/fixmatch libml) and benchmarks/torch_models.py.

Pre-activation residual units with BatchNorm + leaky ReLU 0.1, a 16-channel stem,
three groups of (depth - 4) / 6 units with 16, 32, 64 x widen channels (the first
unit of a group strides by 2 except in group one), final BN + leaky ReLU + global
average pool. Convs have no bias and Kaiming-normal (fan_out) init. WRN-28-2 with a
10-class head has 1,467,610 parameters, as the PyTorch reference.
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssljax.models import initializers

conv_init = initializers.kaiming_normal_fan_out  # As the reference WRN.


class WRNBlock(nn.Module):
  features: int
  strides: int
  activate_before_residual: bool
  norm: Any
  act: Any
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x0):
    conv = functools.partial(
      nn.Conv, use_bias=False, kernel_init=conv_init, dtype=self.dtype, param_dtype=self.param_dtype
    )
    x = self.act(self.norm()(x0))
    if self.activate_before_residual:
      x0 = x
    out = conv(self.features, (3, 3), strides=self.strides, padding=1)(x)
    out = self.act(self.norm()(out))
    out = conv(self.features, (3, 3), padding=1)(out)
    if x0.shape[-1] != self.features or self.strides != 1:
      x0 = conv(self.features, (1, 1), strides=self.strides, padding=0)(x0)
    return x0 + out


class WideResNet(nn.Module):
  """Features dim 64 * widen."""

  depth: int = 28
  widen: int = 2
  bn_momentum: float = 0.999
  leaky: float = 0.1
  axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  pool: bool = True  # False: the last feature map [B, h, w, F] instead of its global average

  @nn.compact
  def __call__(self, x, train: bool):
    if (self.depth - 4) % 6:
      raise ValueError(f'WideResNet depth must be 6n + 4, got {self.depth}.')
    n = (self.depth - 4) // 6
    norm = functools.partial(
      nn.BatchNorm,
      use_running_average=not train,
      momentum=self.bn_momentum,
      axis_name=self.axis_name,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    act = functools.partial(nn.leaky_relu, negative_slope=self.leaky)
    x = nn.Conv(
      16, (3, 3), padding=1, use_bias=False, kernel_init=conv_init, dtype=self.dtype, param_dtype=self.param_dtype
    )(x)
    for group, strides in enumerate([1, 2, 2]):
      for i in range(n):
        x = WRNBlock(
          16 * self.widen * 2**group,
          strides if i == 0 else 1,
          activate_before_residual=(group == 0 and i == 0),
          norm=norm,
          act=act,
          dtype=self.dtype,
          param_dtype=self.param_dtype,
        )(x)
    x = act(norm()(x))
    return jnp.mean(x, axis=(1, 2)) if self.pool else x
