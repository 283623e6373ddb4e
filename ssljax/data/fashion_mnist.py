"""Fashion-MNIST (Zalando, MIT licence): 60,000 train / 10,000 test 28x28 grayscale clothes, 10 classes.

Read from the first source that has it: `data_dir` holding the four original IDX files (`.gz` or not),
then the Debian package `dataset-fashion-mnist` (SYSTEM_DIR), then TFDS's `fashion_mnist` in `data_dir`.
Flips are allowed: a mirrored shirt is still a shirt.
"""

import os

import numpy as np

from ssljax.data.base import ArrayDataset, DataError, from_arrays
from ssljax.data.idx import read_idx

SYSTEM_DIR = '/usr/share/datasets/fashion-mnist'
FILES = {
  'train_images': 'train-images-idx3-ubyte',
  'train_labels': 'train-labels-idx1-ubyte',
  'test_images': 't10k-images-idx3-ubyte',
  'test_labels': 't10k-labels-idx1-ubyte',
}
NUM_CLASSES = 10


def find_files(directory: str) -> dict[str, str] | None:
  """The four IDX paths in `directory` (each `.gz` or uncompressed); None if it holds none of them."""
  found, missing = {}, []
  for key, stem in FILES.items():
    paths = [os.path.join(directory, stem + ext) for ext in ('.gz', '')]
    path = next((p for p in paths if os.path.isfile(p)), None)
    if path is None:
      missing.append(stem + '[.gz]')
    else:
      found[key] = path
  if not found:
    return None
  if missing:
    raise DataError(f'{directory} holds only part of Fashion-MNIST: {", ".join(missing)} missing; add them.')
  return found


def _read_split(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
  images, labels = read_idx(images_path), read_idx(labels_path)
  if images.ndim != 3 or images.dtype != np.uint8:
    raise DataError(f'{images_path} holds {images.dtype} {images.shape}, not uint8 images [N, H, W]; wrong file?')
  if labels.ndim != 1 or len(labels) != len(images):
    raise DataError(f'{labels_path} holds shape {labels.shape}, not one label per image of {images_path}.')
  if labels.size and not 0 <= labels.min() <= labels.max() < NUM_CLASSES:
    raise DataError(f'{labels_path} has labels outside 0..{NUM_CLASSES - 1}; wrong file?')
  return images[..., None], labels.astype(np.int32)


def load_idx_dir(files: dict[str, str]) -> ArrayDataset:
  train_x, train_y = _read_split(files['train_images'], files['train_labels'])
  test_x, test_y = _read_split(files['test_images'], files['test_labels'])
  return from_arrays('fashion_mnist', train_x, train_y, test_x, test_y, NUM_CLASSES, allow_flip=True)


def not_found(data_dir: str | None, reason: str) -> DataError:
  names = ', '.join(stem + '.gz' for stem in FILES.values())
  where = f'not in {data_dir} nor {SYSTEM_DIR}' if data_dir else f'not in {SYSTEM_DIR}'
  return DataError(
    f'Fashion-MNIST is {where}, and tfds has no prepared copy ({reason}). Provide it one of three ways: '
    f'`apt-get install dataset-fashion-mnist` (installs to {SYSTEM_DIR}); put {names} in a directory DIR and '
    'pass --config.data_dir=DIR; or, on a machine with internet, '
    '`tfds build fashion_mnist --data_dir DIR --file_format=array_record` and pass --config.data_dir=DIR.'
  )


def load_fashion_mnist(data_dir: str | None = None) -> ArrayDataset:
  for directory in ([data_dir] if data_dir else []) + [SYSTEM_DIR]:
    files = find_files(directory) if os.path.isdir(directory) else None
    if files:
      return load_idx_dir(files)
  try:
    from ssljax.data.tfds_data import load_tfds

    return load_tfds('fashion_mnist', data_dir)
  except ImportError as e:  # tensorflow-datasets is optional for this dataset.
    raise not_found(data_dir, f'{type(e).__name__}: {e}') from None
  except DataError as e:
    raise not_found(data_dir, 'tfds: ' + str(e).split(';')[0]) from None
