"""float64 in, float64 out (computed in float64); float32 in, float32 out; JAX's 64-bit mode only during a fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from ssljax import cluster


@pytest.fixture(scope='module')
def data():
  x, y = make_blobs(200, 3, centers=[[0, 0, 0], [10, 0, 0], [0, 10, 0]], random_state=0)
  y = y.copy()
  y[10:] = -1
  return x, y


def _fitted(x, y):
  return {
    'KMeans': cluster.KMeans(3, n_init=1, random_state=0).fit(x).cluster_centers_,
    'MiniBatchKMeans': cluster.MiniBatchKMeans(3, n_init=1, random_state=0, batch_size=50).fit(x).cluster_centers_,
    'GaussianMixture': cluster.GaussianMixture(3, random_state=0).fit(x).means_,
    'LabelSpreading': cluster.LabelSpreading(kernel='knn').fit(x, y).predict_proba(x),
  }


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_dtype_is_preserved(data, dtype):
  x, y = data
  for name, out in _fitted(x.astype(dtype), y).items():
    want = np.float64 if name == 'LabelSpreading' else dtype  # scikit-learn's distributions are float64 always
    assert out.dtype == want, name


def test_float64_fit_is_float64_accurate(data):
  """KMeans centres are means of the points: float64 arithmetic gives them to ~1e-15 relative, float32 would not."""
  x, _ = data
  km = cluster.KMeans(3, n_init=1, random_state=0).fit(x)
  means = np.stack([x[km.labels_ == k].mean(0) for k in range(3)])
  np.testing.assert_allclose(km.cluster_centers_, means, rtol=1e-12, atol=1e-12)


def test_x64_is_scoped_to_the_fit(data):
  x, y = data
  before = jax.config.jax_enable_x64
  _fitted(x, y)
  assert jax.config.jax_enable_x64 == before
  if not before:
    assert jnp.zeros(2).dtype == jnp.float32
