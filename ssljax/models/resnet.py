"""ResNet-18 with the CIFAR stem (SimCLR's CIFAR encoder), as the PyTorch reference in benchmarks/torch_models.py."""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssljax.models import initializers


class BasicBlock(nn.Module):
  features: int
  strides: int
  norm: Any
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(
      nn.Conv, use_bias=False, kernel_init=initializers.lecun_normal, dtype=self.dtype, param_dtype=self.param_dtype
    )
    out = nn.relu(self.norm()(conv(self.features, (3, 3), strides=self.strides, padding=1)(x)))
    out = self.norm()(conv(self.features, (3, 3), padding=1)(out))
    if x.shape[-1] != self.features or self.strides != 1:
      x = self.norm()(conv(self.features, (1, 1), strides=self.strides, padding=0)(x))
    return nn.relu(out + x)


class ResNet18(nn.Module):
  """3x3 stride-1 stem, no max-pool, basic blocks [2, 2, 2, 2] of 64..512 channels; features dim 512."""

  bn_momentum: float = 0.9
  axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  pool: bool = True  # False: the last feature map [B, h, w, F] instead of its global average

  @nn.compact
  def __call__(self, x, train: bool):
    norm = functools.partial(
      nn.BatchNorm,
      use_running_average=not train,
      momentum=self.bn_momentum,
      axis_name=self.axis_name,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    x = nn.Conv(
      64,
      (3, 3),
      padding=1,
      use_bias=False,
      kernel_init=initializers.lecun_normal,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )(x)
    x = nn.relu(norm()(x))
    for features, strides in [(64, 1), (128, 2), (256, 2), (512, 2)]:
      x = BasicBlock(features, strides, norm=norm, dtype=self.dtype, param_dtype=self.param_dtype)(x)
      x = BasicBlock(features, 1, norm=norm, dtype=self.dtype, param_dtype=self.param_dtype)(x)
    return jnp.mean(x, axis=(1, 2)) if self.pool else x
