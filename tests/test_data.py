"""Tests for ssljax.data: digits, the TFDS loaders (mocked), and the labelled split."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ssljax import data
from ssljax.errors import UserError


def test_digits():
  ds = data.load('digits')
  assert ds.train_images.shape == (1437, 8, 8, 1) and ds.test_images.shape == (360, 8, 8, 1)
  assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int32
  assert ds.train_images.max() == 255 and ds.train_images.min() == 0
  assert ds.num_classes == 10 and not ds.allow_flip and ds.unlabelled_images is None
  assert np.bincount(ds.test_labels).min() >= 35  # Stratified.
  x = ds.train_images / 255.0
  np.testing.assert_allclose(ds.mean, [x.mean()], rtol=1e-6)
  np.testing.assert_allclose(ds.std, [x.std()], rtol=1e-6)
  # The split is fixed: loading twice gives the same arrays.
  np.testing.assert_array_equal(data.load('digits').test_labels, ds.test_labels)


def test_data_error_is_a_user_error():
  # launch.py prints any UserError as one line; callers that catch ValueError still catch it.
  assert issubclass(data.DataError, UserError) and issubclass(data.DataError, ValueError)


def test_unknown_dataset():
  with pytest.raises(data.DataError, match='cifar10.*folder:PATH or npz:FILE'):
    data.load('mnist')


@pytest.mark.parametrize(
  'name,shape,num_classes,allow_flip',
  [
    ('cifar10', (32, 32, 3), 10, True),
    ('cifar100', (32, 32, 3), 100, True),
    ('svhn_cropped', (32, 32, 3), 10, False),
    ('stl10', (96, 96, 3), 10, True),
  ],
)
def test_tfds_mocked(tmp_path, name, shape, num_classes, allow_flip):
  with tfds.testing.mock_data(num_examples=6):
    ds = data.load(name, data_dir=str(tmp_path))
  assert ds.name == name
  assert ds.train_images.shape == (6,) + shape and ds.test_images.shape == (6,) + shape
  assert ds.train_images.dtype == np.uint8 and ds.test_images.dtype == np.uint8
  assert ds.train_labels.dtype == np.int32 and ds.test_labels.dtype == np.int32
  assert ds.num_classes == num_classes and ds.allow_flip == allow_flip
  assert len(ds.mean) == 3 and len(ds.std) == 3
  assert ((ds.train_labels >= 0) & (ds.train_labels < num_classes)).all()
  if name == 'stl10':
    assert ds.unlabelled_images.shape == (6,) + shape and ds.unlabelled_images.dtype == np.uint8
  else:
    assert ds.unlabelled_images is None


def test_tfds_not_available(tmp_path):
  with pytest.raises(data.DataError, match='tfds build cifar10') as e:
    data.load('cifar10', data_dir=str(tmp_path))
  assert '\n' not in str(e.value) and 'data_dir' in str(e.value)


def test_tfds_prepared_without_random_access(monkeypatch, tmp_path):
  # A dataset built in the default TFRecord format: say so, and how to rebuild it.
  class Builder:
    def is_prepared(self):
      return True

  def data_source(*args, **kwargs):
    raise NotImplementedError('Random access data source for file format TFRECORD is not supported.\nmore')

  monkeypatch.setattr(tfds, 'data_source', data_source)
  monkeypatch.setattr(tfds, 'builder', lambda *args, **kwargs: Builder())
  with pytest.raises(data.DataError, match='--file_format=array_record') as e:
    data.load('svhn_cropped', data_dir=str(tmp_path))
  assert 'TFRECORD' in str(e.value) and '\n' not in str(e.value)


def test_split_labelled():
  labels = np.repeat(np.arange(10), 20)
  np.random.default_rng(1).shuffle(labels)
  lab, unl = data.split_labelled(labels, 40, 10, seed=0)
  assert len(lab) == 40 and len(unl) == 160
  np.testing.assert_array_equal(np.bincount(labels[lab], minlength=10), np.full(10, 4))
  np.testing.assert_array_equal(np.sort(np.concatenate([lab, unl])), np.arange(200))
  # The documented draw: one generator, class by class.
  rng = np.random.default_rng(0)
  expected = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), 4, replace=False) for c in range(10)]))
  np.testing.assert_array_equal(lab, expected)
  np.testing.assert_array_equal(data.split_labelled(labels, 40, 10, seed=0)[0], lab)
  assert not np.array_equal(data.split_labelled(labels, 40, 10, seed=1)[0], lab)


def test_split_labelled_all():
  labels = np.array([2, 0, 1, 1, 0, 2, 2])
  lab, unl = data.split_labelled(labels, -1, 3, seed=0)
  np.testing.assert_array_equal(lab, np.arange(7))
  assert unl.shape == (0,) and lab.dtype == np.int64 and unl.dtype == np.int64


@pytest.mark.parametrize(
  'num_labels,match',
  [(0, 'positive multiple'), (35, 'positive multiple'), (-2, 'or -1'), (300, 'larger than'), (200, 'class 9')],
)
def test_split_labelled_errors(num_labels, match):
  labels = np.concatenate([np.repeat(np.arange(9), 22), [9, 9]])
  with pytest.raises(data.DataError, match=match):
    data.split_labelled(labels, num_labels, 10, seed=0)


class FakeSource:
  """A data source with batched reads (as a real ArrayRecordDataSource), optionally broken."""

  def __init__(self, n, batched_ok=True):
    self.n, self.batched_ok, self.batched_calls = n, batched_ok, 0

  def __len__(self):
    return self.n

  def __getitem__(self, i):
    return {'image': np.full((2, 2, 1), i, np.uint8), 'label': np.int64(i % 3)}

  def __getitems__(self, keys):
    self.batched_calls += 1
    if not self.batched_ok:
      raise TypeError('no batched reads here')
    return [self[i] for i in keys]


@pytest.mark.parametrize('batched_ok', [True, False])
def test_read_batched_and_fallback(batched_ok):
  from ssljax.data import tfds_data

  source = FakeSource(5, batched_ok)
  images, labels = tfds_data._read(source, chunk=2)
  np.testing.assert_array_equal(images[:, 0, 0, 0], np.arange(5))
  np.testing.assert_array_equal(labels, np.arange(5) % 3)
  assert images.dtype == np.uint8 and labels.dtype == np.int32
  assert source.batched_calls == (3 if batched_ok else 1)  # A failed batched read is not retried.


def test_load_options_on_builtin_data():
  ds = data.load('digits', image_size=16, allow_flip=True)
  assert ds.train_images.shape == (1437, 16, 16, 1) and ds.test_images.shape == (360, 16, 16, 1)
  assert ds.allow_flip and ds.train_images.dtype == np.uint8
  np.testing.assert_allclose(ds.mean, [(ds.train_images / 255.0).mean()], rtol=1e-6)  # Stats of the resized images.
  same = data.load('digits', image_size=0, allow_flip=None)
  assert same.train_images.shape == (1437, 8, 8, 1) and not same.allow_flip


@pytest.mark.parametrize(
  'kwargs,match',
  [
    (dict(on_bad_image='ignore'), 'fail, skip'),
    (dict(image_size=-1), 'positive integer'),
    (dict(image_size=2.5), 'positive integer'),
    (dict(image_size=True), 'positive integer'),
  ],
)
def test_load_bad_options(kwargs, match):
  with pytest.raises(data.DataError, match=match):
    data.load('digits', **kwargs)
