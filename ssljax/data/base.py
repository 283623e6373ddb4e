"""The in-memory dataset type shared by all loaders."""

import dataclasses

import numpy as np

from ssljax.errors import UserError


class DataError(UserError, ValueError):
  """A user-facing data problem; the message names the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class ArrayDataset:
  """A whole dataset as numpy arrays: images uint8 [N, H, W, C], labels int32 [N]."""

  name: str
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int
  allow_flip: bool  # False where mirroring changes the class (digits, house numbers).
  mean: tuple[float, ...]  # Per channel, in [0, 1] units, over the train images.
  std: tuple[float, ...]
  unlabeled_images: np.ndarray | None = None  # Extra unlabelled-only images (stl10).


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
  """Per-channel mean and std of uint8 images, in [0, 1] units (chunked: no big float copy)."""
  c = images.shape[-1]
  total = np.zeros(c, np.float64)
  total_sq = np.zeros(c, np.float64)
  for start in range(0, len(images), chunk):
    x = images[start : start + chunk].reshape(-1, c).astype(np.float64) / 255.0
    total += x.sum(0)
    total_sq += (x * x).sum(0)
  n = images.size // c
  mean = total / n
  std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
  return tuple(float(m) for m in mean), tuple(float(s) for s in std)
