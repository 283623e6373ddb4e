"""Small heads that sit on an encoder's features: MLP projectors/predictors."""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class MLPHead(nn.Module):
  """(Dense → BN → ReLU) × (num_layers − 1) → Dense [→ BN], the projector/predictor of SimCLR, BYOL and their kin.

  last_bn: BatchNorm (no bias) on the output, as SimCLR's head; Dense layers have no bias when BN follows them.
  """

  hidden_dim: int
  out_dim: int
  num_layers: int = 2
  last_bn: bool = True
  bn_momentum: float = 0.9
  axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    dense = functools.partial(nn.Dense, dtype=self.dtype, param_dtype=self.param_dtype)
    norm = functools.partial(
      nn.BatchNorm,
      use_running_average=not train,
      momentum=self.bn_momentum,
      axis_name=self.axis_name,
      dtype=self.dtype,
      param_dtype=self.param_dtype,
    )
    x = h
    for _ in range(self.num_layers - 1):
      x = nn.relu(norm()(dense(self.hidden_dim, use_bias=False)(x)))
    x = dense(self.out_dim, use_bias=not self.last_bn)(x)
    return norm(use_bias=False)(x) if self.last_bn else x
