"""Labelled / unlabelled split of a training set."""

import numpy as np

from ssljax.data.base import DataError


def split_labelled(labels: np.ndarray, num_labels: int, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Balanced labelled subset: num_labels // num_classes examples of each class; num_labels=-1 labels all of train.

  One `np.random.default_rng(seed)` draws each class's examples in turn (class 0
  first) without replacement. The unlabelled set is all the other training
  examples. Returns sorted int64 index arrays (labelled_idx, unlabelled_idx).
  """
  labels = np.asarray(labels)
  if num_classes == 0:
    raise DataError('this dataset has no class labels; only methods that need none (colorization) can train on it.')
  if num_labels == -1:  # Every labelled image; the unlabelled pool is then only a dataset's unlabelled_images.
    return np.arange(len(labels), dtype=np.int64), np.zeros(0, np.int64)
  if num_labels <= 0 or num_labels % num_classes:
    raise DataError(
      f'num_labels={num_labels} must be a positive multiple of num_classes={num_classes}, or -1 for every '
      f'labelled image; pick e.g. {4 * num_classes} ({4} per class).'
    )
  if num_labels > len(labels):
    raise DataError(
      f'num_labels={num_labels} is larger than the training set ({len(labels)} examples); use fewer labels.'
    )
  per_class = num_labels // num_classes
  rng = np.random.default_rng(seed)
  chosen = []
  for c in range(num_classes):
    idx = np.flatnonzero(labels == c)
    if len(idx) < per_class:
      raise DataError(
        f'class {c} has {len(idx)} training examples but {per_class} labels per class were asked for; use fewer labels.'
      )
    chosen.append(rng.choice(idx, per_class, replace=False))
  labelled = np.sort(np.concatenate(chosen)).astype(np.int64)
  unlabelled = np.setdiff1d(np.arange(len(labels)), labelled).astype(np.int64)
  return labelled, unlabelled
