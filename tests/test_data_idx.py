"""Tests for the IDX reader and Fashion-MNIST: small IDX files written here; the real files only when installed."""

import gzip
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ssljax import data
from ssljax.data import fashion_mnist
from ssljax.data.idx import read_idx

IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
  header = bytes([0, 0, IDX_TYPES[array.dtype], array.ndim]) + np.asarray(array.shape, '>u4').tobytes()
  return header + array.astype(array.dtype.newbyteorder('>')).tobytes()


def write_idx(path, array: np.ndarray, compress: bool | None = None):
  raw = idx_bytes(array)
  if compress if compress is not None else str(path).endswith('.gz'):
    raw = gzip.compress(raw)
  with open(path, 'wb') as f:
    f.write(raw)
  return str(path)


def write_fashion(directory, n_train=20, n_test=10, compress=True, offset=0):
  """The four Fashion-MNIST files with n images each (labels cycle 0..9); the first pixel is index + offset."""
  os.makedirs(directory, exist_ok=True)
  ext = '.gz' if compress else ''
  for split, n in (('train', n_train), ('t10k', n_test)):
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 0, 0] = (np.arange(n) + offset) % 256
    write_idx(os.path.join(directory, f'{split}-images-idx3-ubyte{ext}'), images)
    write_idx(os.path.join(directory, f'{split}-labels-idx1-ubyte{ext}'), (np.arange(n) % 10).astype(np.uint8))
  return str(directory)


@pytest.fixture
def no_system_copy(monkeypatch, tmp_path):
  """Hides an installed dataset-fashion-mnist package, so results do not depend on this machine."""
  monkeypatch.setattr(fashion_mnist, 'SYSTEM_DIR', str(tmp_path / 'no-system-copy'))


@pytest.mark.parametrize('name', ['a.idx', 'a.idx.gz'])
@pytest.mark.parametrize(
  'array',
  [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-5, 0, 1 << 20], np.int32),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
  ],
)
def test_read_idx_round_trip(tmp_path, name, array):
  out = read_idx(write_idx(tmp_path / name, array))
  assert out.dtype == array.dtype and out.dtype.isnative and out.flags.writeable
  np.testing.assert_array_equal(out, array)


def test_read_idx_judges_gzip_by_content(tmp_path):
  array = np.arange(6, dtype=np.uint8)
  np.testing.assert_array_equal(read_idx(write_idx(tmp_path / 'plain.gz', array, compress=False)), array)
  np.testing.assert_array_equal(read_idx(write_idx(tmp_path / 'packed', array, compress=True)), array)


def corrupt(tmp_path, kind):
  raw = idx_bytes(np.arange(100, dtype=np.uint8).reshape(10, 10))
  content = {
    'truncated_gzip': gzip.compress(raw)[:-12],
    'truncated_data': raw[:-7],
    'truncated_header': raw[:9],
    'extra_data': raw + b'\0',
    'wrong_magic': b'\x00\x00\x77\x02' + raw[4:],
    'not_idx': b'<html>404 not found</html>',
    'empty': b'',
  }[kind]
  path = tmp_path / f'{kind}-images-idx3-ubyte'
  path.write_bytes(content)
  return str(path)


@pytest.mark.parametrize(
  'kind,match',
  [
    ('truncated_gzip', 'not a readable gzip file'),
    ('truncated_data', 'truncated or corrupt'),
    ('truncated_header', 'truncated inside its IDX header'),
    ('extra_data', 'truncated or corrupt'),
    ('wrong_magic', 'magic number 00007702'),
    ('not_idx', 'not an IDX file'),
    ('empty', 'magic number nothing'),
  ],
)
def test_read_idx_bad_files(tmp_path, kind, match):
  path = corrupt(tmp_path, kind)
  with pytest.raises(data.DataError, match=match) as e:
    read_idx(path)
  assert path in str(e.value) and '\n' not in str(e.value) and 'download it again' in str(e.value)


@pytest.mark.parametrize('compress', [True, False])
def test_fashion_mnist_from_data_dir(tmp_path, no_system_copy, compress):
  ds = data.load('fashion_mnist', data_dir=write_fashion(tmp_path / 'fm', compress=compress))
  assert ds.name == 'fashion_mnist' and ds.num_classes == 10 and ds.allow_flip
  assert ds.train_images.shape == (20, 28, 28, 1) and ds.test_images.shape == (10, 28, 28, 1)
  assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int32
  np.testing.assert_array_equal(ds.train_images[:, 0, 0, 0], np.arange(20))
  np.testing.assert_array_equal(ds.test_labels, np.arange(10))
  np.testing.assert_allclose(ds.mean, [(ds.train_images / 255.0).mean()], rtol=1e-6)
  assert ds.unlabelled_images is None


def test_fashion_mnist_data_dir_comes_before_the_system_copy(tmp_path, monkeypatch):
  monkeypatch.setattr(fashion_mnist, 'SYSTEM_DIR', write_fashion(tmp_path / 'system', offset=100))
  assert data.load('fashion_mnist', data_dir=write_fashion(tmp_path / 'mine')).train_images[0, 0, 0, 0] == 0
  assert data.load('fashion_mnist', data_dir=str(tmp_path / 'empty')).train_images[0, 0, 0, 0] == 100
  assert data.load('fashion_mnist').train_images[0, 0, 0, 0] == 100


def test_fashion_mnist_partial_dir(tmp_path, no_system_copy):
  directory = write_fashion(tmp_path / 'fm')
  os.remove(os.path.join(directory, 't10k-labels-idx1-ubyte.gz'))
  with pytest.raises(data.DataError, match='t10k-labels-idx1-ubyte') as e:
    data.load('fashion_mnist', data_dir=directory)
  assert directory in str(e.value) and '\n' not in str(e.value)


@pytest.mark.parametrize('problem', ['label_range', 'count', 'images_are_labels'])
def test_fashion_mnist_inconsistent_files(tmp_path, no_system_copy, problem):
  directory = write_fashion(tmp_path / 'fm')
  name = 'train-labels-idx1-ubyte.gz'
  if problem == 'label_range':
    write_idx(os.path.join(directory, name), np.full(20, 10, np.uint8))
  elif problem == 'count':
    write_idx(os.path.join(directory, name), np.zeros(19, np.uint8))
  else:
    name = 'train-images-idx3-ubyte.gz'
    write_idx(os.path.join(directory, name), np.zeros(20, np.uint8))
  with pytest.raises(data.DataError) as e:
    data.load('fashion_mnist', data_dir=directory)
  assert os.path.join(directory, name) in str(e.value) and '\n' not in str(e.value)


def test_fashion_mnist_missing_says_the_three_ways(tmp_path, no_system_copy):
  with pytest.raises(data.DataError) as e:
    data.load('fashion_mnist', data_dir=str(tmp_path))
  message = str(e.value)
  assert '\n' not in message
  for way in ('apt-get install dataset-fashion-mnist', '--config.data_dir=DIR', 'tfds build fashion_mnist'):
    assert way in message
  assert 'train-images-idx3-ubyte.gz' in message


def test_fashion_mnist_through_tfds(tmp_path, no_system_copy):
  with tfds.testing.mock_data(num_examples=6):
    ds = data.load('fashion_mnist', data_dir=str(tmp_path))
  assert ds.train_images.shape == (6, 28, 28, 1) and ds.train_images.dtype == np.uint8
  assert ds.num_classes == 10 and ds.allow_flip


INSTALLED = all(os.path.isfile(os.path.join(fashion_mnist.SYSTEM_DIR, f + '.gz')) for f in fashion_mnist.FILES.values())


@pytest.mark.skipif(not INSTALLED, reason='dataset-fashion-mnist is not installed')
def test_fashion_mnist_real_files():
  ds = data.load('fashion_mnist')
  assert ds.train_images.shape == (60000, 28, 28, 1) and ds.test_images.shape == (10000, 28, 28, 1)
  np.testing.assert_array_equal(np.bincount(ds.train_labels), np.full(10, 6000))
  np.testing.assert_array_equal(np.bincount(ds.test_labels), np.full(10, 1000))
  assert ds.train_images.max() == 255 and ds.train_images.min() == 0
  np.testing.assert_allclose(ds.mean, [0.2860], atol=1e-4)  # The published Fashion-MNIST train statistics.
  np.testing.assert_allclose(ds.std, [0.3530], atol=1e-4)
