"""Image encoders (images [B, H, W, C] -> features [B, F]), a classifier head, and the text Transformer (token ids
[B, T] -> hidden states [B, T, D])."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from ssljax.models import initializers
from ssljax.models.cnn import CNN
from ssljax.models.resnet import ResNet18
from ssljax.models.transformer import Transformer
from ssljax.models.wrn import WideResNet


def dtypes(name: str) -> tuple[Any, Any]:
  """config.dtype -> (activation dtype, parameter dtype): bfloat16 computes in bf16 and keeps float32 parameters."""
  return {
    "float32": (jnp.float32, jnp.float32),
    "bfloat16": (jnp.bfloat16, jnp.float32),
    "float64": (jnp.float64, jnp.float64),
  }[name]


class Classifier(nn.Module):
  """An encoder followed by a Dense head (Xavier-normal init, as the reference WRN's fc); logits in float32."""

  encoder: nn.Module
  num_classes: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  def setup(self):
    self.head = nn.Dense(
      self.num_classes, kernel_init=initializers.xavier_normal, dtype=self.dtype, param_dtype=self.param_dtype
    )

  def __call__(self, x, train: bool):
    logits = self.head(self.encoder(x, train=train))
    return logits.astype(jnp.promote_types(logits.dtype, jnp.float32))


ENCODERS = {
  'cnn': CNN,
  'wrn28_2': lambda **kw: WideResNet(depth=28, widen=2, **kw),
  'wrn28_8': lambda **kw: WideResNet(depth=28, widen=8, **kw),
  'resnet18': ResNet18,
  'transformer': Transformer,
}


def get_encoder(name: str, **kwargs) -> nn.Module:
  """kwargs go to the encoder (e.g. axis_name='data', bn_momentum=0.99, dtype, param_dtype)."""
  if name not in ENCODERS:
    raise ValueError(f'unknown encoder {name!r}; choose one of {", ".join(ENCODERS)}.')
  return ENCODERS[name](**kwargs)


__all__ = ['CNN', 'WideResNet', 'ResNet18', 'Transformer', 'Classifier', 'get_encoder', 'ENCODERS', 'dtypes']
