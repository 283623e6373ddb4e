"""Datasets as in-memory numpy arrays, and the labelled/unlabelled split."""

from ssljax.data.base import ArrayDataset, DataError, channel_stats
from ssljax.data.split import split_labelled

DATASETS = ('digits', 'cifar10', 'cifar100', 'svhn_cropped', 'stl10')


def load(name: str, data_dir: str | None = None) -> ArrayDataset:
  """Loads a whole dataset; `data_dir` is where TFDS datasets are prepared (digits ignore it)."""
  if name == 'digits':
    from ssljax.data.digits import load_digits

    return load_digits()
  if name in DATASETS:
    from ssljax.data.tfds_data import load_tfds

    return load_tfds(name, data_dir)
  raise DataError(f'unknown dataset {name!r}; choose one of {", ".join(DATASETS)}.')


__all__ = ['ArrayDataset', 'DataError', 'DATASETS', 'load', 'split_labelled', 'channel_stats']
