"""TFDS image datasets read whole into numpy through `tfds.data_source` (no TensorFlow needed).

The data must already be prepared in array_record format under `data_dir` (or TFDS's
default data dir): nothing is downloaded here, so a missing dataset fails at once
with a `DataError` instead of a long network retry.
"""

import numpy as np

from ssljax.data.base import ArrayDataset, DataError, from_arrays

# name -> (num_classes, allow_flip). Flipping house numbers changes what they show.
TFDS_DATASETS = {
  'cifar10': (10, True),
  'cifar100': (100, True),
  'svhn_cropped': (10, False),
  'stl10': (10, True),
  'fashion_mnist': (10, True),  # Clothes are left-right symmetric.
}


def _not_available(name: str, data_dir: str | None, error: Exception, prepared: bool) -> DataError:
  where = data_dir or "TFDS's default data dir (~/tensorflow_datasets)"
  build = f'`tfds build {name} --data_dir DIR --file_format=array_record`'
  if prepared:  # e.g. built as TFRecord, which has no random access.
    return DataError(
      f'dataset {name!r} in {where} cannot be read without TensorFlow ({type(error).__name__}: '
      f'{str(error).splitlines()[0]}); rebuild it with {build} and pass --config.data_dir=DIR.'
    )
  return DataError(
    f'dataset {name!r} is not available offline in {where} ({type(error).__name__}); on a machine '
    f"with internet run {build} (or `tfds.builder('{name}', data_dir=DIR, "
    "file_format='array_record').download_and_prepare()`), copy DIR here and pass --config.data_dir=DIR."
  )


def _is_prepared(tfds, name: str, data_dir: str | None) -> bool:
  try:
    return tfds.builder(name, data_dir=data_dir).is_prepared()
  except Exception:
    return False


def _source(name: str, split: str, data_dir: str | None):
  import tensorflow_datasets as tfds  # Imported here: digits alone should not need it.

  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as e:  # TFDS raises many types for "not there"; all mean the same here.
    raise _not_available(name, data_dir, e, _is_prepared(tfds, name, data_dir)) from e


def _read(source, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
  """All (image, label) records of a data source, batched where `__getitems__` works."""
  n = len(source)
  images, labels = None, np.empty(n, np.int32)
  batched = hasattr(source, '__getitems__')
  for start in range(0, n, chunk):
    keys = list(range(start, min(n, start + chunk)))
    records = None
    if batched:
      try:
        records = source.__getitems__(keys)
      except Exception:  # Mocked sources (tfds.testing.mock_data) only index one at a time.
        batched = False
    if records is None:
      records = [source[i] for i in keys]
    for i, record in zip(keys, records):
      image = np.asarray(record['image'])
      if images is None:
        images = np.empty((n,) + image.shape, np.uint8)
      images[i] = image
      labels[i] = record['label']
  if images is None:
    raise DataError('the data source is empty; re-prepare the dataset with `tfds build`.')
  return images, labels


def load_tfds(name: str, data_dir: str | None = None) -> ArrayDataset:
  num_classes, allow_flip = TFDS_DATASETS[name]
  train = _source(name, 'train', data_dir)  # Fails fast when the data is missing.
  train_x, train_y = _read(train)
  test_x, test_y = _read(_source(name, 'test', data_dir))
  unlabelled = None
  if name == 'stl10':
    unlabelled, _ = _read(_source(name, 'unlabelled', data_dir))
  return from_arrays(name, train_x, train_y, test_x, test_y, num_classes, allow_flip, unlabelled)
