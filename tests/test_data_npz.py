"""Tests for npz:FILE datasets, on tiny arrays saved to tmp_path."""

import numpy as np
import pytest

from ssljax import data


def arrays(n_train=6, n_test=4, shape=(5, 5), classes=3, **overrides):
  rng = np.random.default_rng(0)
  out = {
    'x_train': rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
    'y_train': np.arange(n_train) % classes,
    'x_test': rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
    'y_test': np.arange(n_test) % classes,
  }
  out.update(overrides)
  return {k: v for k, v in out.items() if v is not None}


def save(tmp_path, **kwargs):
  path = tmp_path / 'set.npz'
  np.savez(path, **arrays(**kwargs))
  return str(path)


def test_npz_grayscale_gets_a_channel_axis(tmp_path):
  path = save(tmp_path)
  ds = data.load(f'npz:{path}')
  source = arrays()
  assert ds.name == f'npz:{path}' and ds.num_classes == 3 and not ds.allow_flip and ds.unlabelled_images is None
  assert ds.train_images.shape == (6, 5, 5, 1) and ds.test_images.shape == (4, 5, 5, 1)
  np.testing.assert_array_equal(ds.train_images[..., 0], source['x_train'])
  assert ds.train_labels.dtype == np.int32 and ds.test_labels.dtype == np.int32
  np.testing.assert_allclose(ds.mean, [source['x_train'].mean() / 255.0], rtol=1e-6)


def test_npz_colour_and_unlabelled(tmp_path):
  x_u = np.full((7, 5, 5, 3), 9, np.uint8)
  path = save(tmp_path, shape=(5, 5, 3), x_unlabelled=x_u)
  ds = data.load(f'npz:{path}', allow_flip=True)
  assert ds.train_images.shape == (6, 5, 5, 3) and len(ds.mean) == 3 and ds.allow_flip
  np.testing.assert_array_equal(ds.unlabelled_images, x_u)


def test_npz_compressed_and_resized(tmp_path):
  path = tmp_path / 'c.npz'
  np.savez_compressed(path, **arrays(x_unlabelled=np.zeros((2, 5, 5), np.uint8)))
  ds = data.load(f'npz:{path}', image_size=8)
  assert ds.train_images.shape == (6, 8, 8, 1) and ds.unlabelled_images.shape == (2, 8, 8, 1)


@pytest.mark.parametrize(
  'overrides,match',
  [
    (dict(y_test=None), 'has no y_test'),
    (dict(x_train=np.zeros((6, 5, 5), np.float32)), r'float32 in \[0.0, 0.0\], not uint8.*x \* 255'),
    (dict(x_test=np.full((4, 5, 5), 200.0)), r'float64 in \[200.0, 200.0\].*x.round\(\).astype\(np.uint8\)'),
    (dict(x_test=np.full((4, 5, 5), 999, np.int64)), r'x \* \(255 / x.max\(\)\)'),
    (dict(x_train=np.zeros((6, 5, 5, 4), np.uint8)), 'C = 1 or 3'),
    (dict(x_train=np.zeros((6, 25), np.uint8)), 'C = 1 or 3'),
    (dict(x_train=np.zeros((0, 5, 5), np.uint8), y_train=np.zeros(0, np.int64)), 'x_train holds no images'),
    (dict(x_test=np.zeros((4, 6, 5), np.uint8)), r'x_test images are \(6, 5, 1\)'),
    (dict(x_unlabelled=np.zeros((2, 5, 5, 3), np.uint8)), 'x_unlabelled images'),
    (dict(y_train=np.arange(5) % 3), 'y_train has 5 labels but x_train has 6 images'),
    (dict(y_test=np.arange(3)), 'y_test has 3 labels but x_test has 4'),
    (dict(y_train=np.arange(6) % 3 * 0.5), 'y_train is float64; labels must be integer'),
    (dict(y_train=np.eye(3)[np.arange(6) % 3].astype(np.int64)), 'one-hot'),
    (dict(y_train=np.array([0, 1, -1, 0, 1, 2])), 'y_train has label -1'),
    (dict(y_train=np.array([0, 2, 2, 0, 2, 2])), 'no examples of class 1'),
    (dict(y_test=np.array([0, 1, 2, 3])), 'y_test has label 3, outside the classes 0..2'),
    (dict(y_test=np.array([0, 1, 2, -2])), 'y_test has label -2'),
  ],
)
def test_npz_bad_arrays(tmp_path, overrides, match):
  path = save(tmp_path, **overrides)
  with pytest.raises(data.DataError, match=match) as e:
    data.load(f'npz:{path}')
  assert path in str(e.value) and '\n' not in str(e.value)


@pytest.mark.parametrize('content', [b'', b'not a zip file', 'npy', 'pickle'])
def test_npz_unreadable(tmp_path, content):
  path = tmp_path / 'broken.npz'
  if content == 'npy':
    with open(path, 'wb') as f:
      np.save(f, np.zeros(3))
  elif content == 'pickle':
    np.savez(path, **arrays(), x_unlabelled=np.array([{'a': 1}], dtype=object))
  else:
    path.write_bytes(content)
  with pytest.raises(data.DataError, match='cannot read') as e:
    data.load(f'npz:{path}')
  assert str(path) in str(e.value) and '\n' not in str(e.value)


def test_npz_missing_file(tmp_path):
  with pytest.raises(data.DataError, match='does not exist.*np.savez') as e:
    data.load(f'npz:{tmp_path / "nope.npz"}')
  assert str(tmp_path / 'nope.npz') in str(e.value)
