"""Small heads that sit on an encoder's features: MLP projectors/predictors."""

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from ssljax.models import initializers


class MLPHead(nn.Module):
  """(Dense → BN → ReLU) × (num_layers − 1) → Dense [→ BN], the projector/predictor of SimCLR, BYOL and their kin.

  last_bn: BatchNorm (no bias) on the output, as SimCLR's head; Dense layers have no bias when BN follows them.
  hidden_bn: False drops the hidden BatchNorms (MoCo v2's projector: Dense → ReLU → Dense, with biases).
  activation: the hidden nonlinearity (DINO's head uses GELU).
  out_bias: False drops the output Dense's bias (Barlow Twins' projector: standardisation would cancel it).
  """

  hidden_dim: int
  out_dim: int
  num_layers: int = 2
  last_bn: bool = True
  bn_momentum: float = 0.9
  axis_name: str | None = None
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  hidden_bn: bool = True
  activation: Callable = nn.relu
  out_bias: bool = True

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
      x = dense(self.hidden_dim, use_bias=not self.hidden_bn)(x)
      x = self.activation(norm()(x) if self.hidden_bn else x)
    x = dense(self.out_dim, use_bias=self.out_bias and not self.last_bn)(x)
    return norm(use_bias=False)(x) if self.last_bn else x


class Prototypes(nn.Module):
  """Cosine scores against K learnt prototypes: ℓ2-normalise the input, then a bias-free Dense whose columns are
  ℓ2-normalised at every call (weight normalisation with the norm fixed to 1, as DINO's and SwAV's last layer)."""

  num_prototypes: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, train: bool = False):
    del train
    kernel = self.param("kernel", initializers.lecun_normal, (z.shape[-1], self.num_prototypes), self.param_dtype)
    kernel = kernel * lax.rsqrt(jnp.maximum(jnp.sum(jnp.square(kernel), axis=0, keepdims=True), 1e-24))
    z = z * lax.rsqrt(jnp.maximum(jnp.sum(jnp.square(z), axis=-1, keepdims=True), 1e-24))
    return z.astype(self.dtype) @ kernel.astype(self.dtype)
