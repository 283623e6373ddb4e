"""Your own arrays from one `.npz` file (`np.savez(FILE, x_train=..., y_train=..., ...)`).

x_*: uint8 images [N, H, W] or [N, H, W, C] with C = 1 or 3; y_*: integer labels 0..K-1, every class in
y_train; optional x_unlabelled: images with no label, which join the unlabelled pool.
"""

import os
import zipfile
import zlib

import numpy as np

from ssljax.data.base import ArrayDataset, DataError, from_arrays

REQUIRED = ('x_train', 'y_train', 'x_test', 'y_test')
OPTIONAL = ('x_unlabelled',)
SAVE = 'np.savez(FILE, x_train=..., y_train=..., x_test=..., y_test=...[, x_unlabelled=...])'


def _images(path: str, key: str, x: np.ndarray) -> np.ndarray:
  if x.dtype != np.uint8:
    if x.dtype.kind in 'biuf' and x.size:
      lo, hi = x.min(), x.max()
      if lo < 0:
        fix = '((x - x.min()) * (255 / (x.max() - x.min()))).round().astype(np.uint8)'
      elif hi <= 1:
        fix = '(x * 255).round().astype(np.uint8)'
      elif hi <= 255:
        fix = 'x.round().astype(np.uint8)' if x.dtype.kind == 'f' else 'x.astype(np.uint8)'
      else:
        fix = '(x * (255 / x.max())).round().astype(np.uint8)'
      seen = f'{x.dtype} in [{lo}, {hi}]'
    else:
      fix, seen = 'x.astype(np.uint8) from values in 0..255', str(x.dtype)
    raise DataError(f'{path}: {key} is {seen}, not uint8; convert it with {fix} and save again.')
  if x.ndim == 3:
    x = x[..., None]
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise DataError(f'{path}: {key} has shape {x.shape}; images must be [N, H, W] or [N, H, W, C] with C = 1 or 3.')
  if not len(x):
    raise DataError(f'{path}: {key} holds no images.')
  return x


def _labels(path: str, key: str, y: np.ndarray, n: int, x_key: str) -> np.ndarray:
  if y.dtype.kind not in 'iu':
    raise DataError(f'{path}: {key} is {y.dtype}; labels must be integer class indices 0..K-1 (y.astype(np.int64)).')
  if y.ndim != 1:
    hint = ' (one-hot? use y.argmax(-1))' if y.ndim == 2 else ''
    raise DataError(f'{path}: {key} has shape {y.shape}; labels must be one integer per image, shape [N]{hint}.')
  if len(y) != n:
    raise DataError(f'{path}: {key} has {len(y)} labels but {x_key} has {n} images; they must match one to one.')
  return y


def load_npz(path: str) -> ArrayDataset:
  """The dataset in `path`; allow_flip is False (set it with the allow_flip option)."""
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise DataError(f'npz dataset {path} does not exist; save one with {SAVE}.')
  try:
    with np.load(path, allow_pickle=False) as f:  # A plain .npy gives an array, which has no `with`: caught below.
      files = list(f.files)
      arrays = {k: f[k] for k in REQUIRED + OPTIONAL if k in files}
  except (OSError, ValueError, EOFError, AttributeError, TypeError, zipfile.BadZipFile, zlib.error) as e:
    raise DataError(f'cannot read {path} as .npz ({type(e).__name__}: {e}); save it again with np.savez.') from None
  missing = [k for k in REQUIRED if k not in files]
  if missing:
    raise DataError(
      f'{path} has no {", ".join(missing)} (it holds {", ".join(files) or "nothing"}); save it with {SAVE}.'
    )
  x_train, x_test = _images(path, 'x_train', arrays['x_train']), _images(path, 'x_test', arrays['x_test'])
  y_train = _labels(path, 'y_train', arrays['y_train'], len(x_train), 'x_train')
  y_test = _labels(path, 'y_test', arrays['y_test'], len(x_test), 'x_test')
  unlabelled = _images(path, 'x_unlabelled', arrays['x_unlabelled']) if 'x_unlabelled' in arrays else None
  for key, x in (('x_test', x_test), ('x_unlabelled', unlabelled)):
    if x is not None and x.shape[1:] != x_train.shape[1:]:
      raise DataError(f'{path}: {key} images are {x.shape[1:]}, x_train images {x_train.shape[1:]}; make them match.')
  if y_train.min() < 0:
    raise DataError(f'{path}: y_train has label {y_train.min()}; labels must be class indices 0..K-1.')
  num_classes = int(y_train.max()) + 1
  absent = np.flatnonzero(np.bincount(y_train, minlength=num_classes) == 0)
  if len(absent):
    raise DataError(
      f'{path}: y_train has no examples of class {absent[0]} of 0..{num_classes - 1}; number the classes '
      'without gaps (np.unique(y, return_inverse=True)[1]).'
    )
  if y_test.min() < 0 or y_test.max() >= num_classes:
    bad = y_test.min() if y_test.min() < 0 else y_test.max()
    raise DataError(f'{path}: y_test has label {bad}, outside the classes 0..{num_classes - 1} of y_train.')
  return from_arrays(f'npz:{path}', x_train, y_train, x_test, y_test, num_classes, False, unlabelled)
