"""The in-memory dataset type shared by all loaders."""

import dataclasses

import numpy as np

from ssljax.errors import UserError


class DataError(UserError, ValueError):
  """A user-facing data problem; the message names the file or folder, the problem and the fix."""


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
  unlabelled_images: np.ndarray | None = None  # Extra images that have no label (stl10, folder:, npz:).


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


def from_arrays(
  name: str,
  train_images: np.ndarray,
  train_labels: np.ndarray,
  test_images: np.ndarray,
  test_labels: np.ndarray,
  num_classes: int,
  allow_flip: bool,
  unlabelled_images: np.ndarray | None = None,
) -> ArrayDataset:
  """An ArrayDataset with int32 labels and the per-channel stats of its train images."""
  mean, std = channel_stats(train_images)
  return ArrayDataset(
    name=name,
    train_images=train_images,
    train_labels=np.asarray(train_labels, np.int32),
    test_images=test_images,
    test_labels=np.asarray(test_labels, np.int32),
    num_classes=num_classes,
    allow_flip=allow_flip,
    mean=mean,
    std=std,
    unlabelled_images=unlabelled_images,
  )
