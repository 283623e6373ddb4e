"""Datasets as in-memory numpy arrays, and the labelled/unlabelled split."""

import dataclasses
import numbers

from ssljax.data.base import ArrayDataset, DataError, channel_stats, from_arrays
from ssljax.data.split import split_labelled

DATASETS = ('digits', 'fashion_mnist', 'photos', 'cifar10', 'cifar100', 'svhn_cropped', 'stl10')
PREFIXES = ('folder:', 'npz:')  # Followed by a path: folder:PATH, npz:FILE.
TEXT_DATASETS = ('stdlib_docs',)  # Text corpora (ssljax.data.text), read by the text methods; and text:PATH.
TEXT_PREFIXES = ('text:',)
BAD_IMAGE_POLICIES = ('fail', 'skip')


def _load(name: str, data_dir: str | None, image_size: int | None, on_bad_image: str) -> ArrayDataset:
  if name == 'digits':
    from ssljax.data.digits import load_digits

    return load_digits()
  if name == 'fashion_mnist':
    from ssljax.data.fashion_mnist import load_fashion_mnist

    return load_fashion_mnist(data_dir)
  if name == 'photos':
    from ssljax.data.photos import load_photos

    return load_photos()
  if name.startswith('folder:'):
    from ssljax.data.folder import load_folder

    return load_folder(name.removeprefix('folder:'), image_size, on_bad_image)
  if name.startswith('npz:'):
    from ssljax.data.npz import load_npz

    return load_npz(name.removeprefix('npz:'))
  if name in TEXT_DATASETS or name.startswith(TEXT_PREFIXES):
    raise DataError(f'{name!r} is a text corpus, not images; train it with next_token, masked_token or next_sentence.')
  if name in DATASETS:
    from ssljax.data.tfds_data import load_tfds

    return load_tfds(name, data_dir)
  raise DataError(f'unknown dataset {name!r}; choose one of {", ".join(DATASETS)}, folder:PATH or npz:FILE.')


def _resized(ds: ArrayDataset, size: tuple[int, int]) -> ArrayDataset:
  from ssljax.data.images import resize

  if ds.train_images.shape[1:3] == size:
    return ds
  unlabelled = None if ds.unlabelled_images is None else resize(ds.unlabelled_images, size)
  return from_arrays(
    ds.name,
    resize(ds.train_images, size),
    ds.train_labels,
    resize(ds.test_images, size),
    ds.test_labels,
    ds.num_classes,
    ds.allow_flip,
    unlabelled,
  )


def load(
  name: str,
  data_dir: str | None = None,
  *,
  image_size: int | None = None,
  allow_flip: bool | None = None,
  on_bad_image: str = 'fail',
) -> ArrayDataset:
  """Loads a whole dataset into host memory.

  Args:
    name: one of DATASETS, 'folder:PATH' (PATH/train/<class>/*, PATH/test/<class>/*, optional PATH/unlabelled/*)
      or 'npz:FILE' (arrays x_train, y_train, x_test, y_test, optional x_unlabelled).
    data_dir: where TFDS datasets are prepared, or a directory with Fashion-MNIST's IDX files (digits, folder:
      and npz: ignore it).
    image_size: resize every image to image_size x image_size (bilinear); None or 0 keeps the stored size. Needed
      for folders whose images differ in size.
    allow_flip: whether augmentations may mirror images left-right; None keeps the dataset's default (True for
      cifar10/cifar100/stl10/fashion_mnist, False for digits/svhn_cropped and for folder:/npz:, where mirroring
      may change the class, e.g. text or arrows).
    on_bad_image: 'fail' (an unreadable image file in a folder: dataset is an error naming it) or 'skip' (leave
      such files out and say once how many).
  """
  if on_bad_image not in BAD_IMAGE_POLICIES:
    raise DataError(f'on_bad_image={on_bad_image!r}; choose one of {", ".join(BAD_IMAGE_POLICIES)}.')
  whole = isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool)
  if image_size is not None and not (whole and image_size >= 0):
    raise DataError(f'image_size={image_size!r} must be a positive integer (the side in pixels), or 0 to keep.')
  ds = _load(name, data_dir, image_size or None, on_bad_image)
  if image_size:
    ds = _resized(ds, (image_size, image_size))
  if allow_flip is not None:
    ds = dataclasses.replace(ds, allow_flip=bool(allow_flip))
  return ds


__all__ = ['ArrayDataset', 'DataError', 'DATASETS', 'load', 'split_labelled', 'channel_stats', 'from_arrays']
