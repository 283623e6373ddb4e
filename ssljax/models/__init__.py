"""Image encoders (images [B, H, W, C] -> features [B, F]) and a classifier head."""

import flax.linen as nn

from ssljax.models import initializers
from ssljax.models.cnn import CNN
from ssljax.models.resnet import ResNet18
from ssljax.models.wrn import WideResNet


class Classifier(nn.Module):
  """An encoder followed by a Dense head (Xavier-normal init, as the reference WRN's fc)."""

  encoder: nn.Module
  num_classes: int

  def setup(self):
    self.head = nn.Dense(self.num_classes, kernel_init=initializers.xavier_normal)

  def __call__(self, x, train: bool):
    return self.head(self.encoder(x, train=train))

  def features(self, x, train: bool = False):
    return self.encoder(x, train=train)


ENCODERS = {
  'cnn': CNN,
  'wrn28_2': lambda **kw: WideResNet(depth=28, widen=2, **kw),
  'wrn28_8': lambda **kw: WideResNet(depth=28, widen=8, **kw),
  'resnet18': ResNet18,
}


def get_encoder(name: str, **kwargs) -> nn.Module:
  """kwargs go to the encoder (e.g. axis_name='data', bn_momentum=0.99, dtype)."""
  if name not in ENCODERS:
    raise ValueError(f'unknown encoder {name!r}; choose one of {", ".join(ENCODERS)}.')
  return ENCODERS[name](**kwargs)


__all__ = ['CNN', 'WideResNet', 'ResNet18', 'Classifier', 'get_encoder', 'ENCODERS']
