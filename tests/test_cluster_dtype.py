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


@pytest.mark.parametrize('n_on_ties', [0, 10, 200])
def test_float64_labels_from_float32_distances_are_the_float64_ones(n_on_ties):
  """k-means' float64 assignment ranks centres in float32 and recomputes in float64 only the rows its error bound
  cannot decide: the labels must be those of the float64 block. Ties are exact by construction (a duplicated centre;
  points on it), so either computation breaks them by the lowest index; 30 rows lie 1e-9 from a bisector (float32
  cannot rank them; float64 rounding, 1e-16, cannot flip them); the other rows are random, far from ties. 0 or 10
  tied rows take the gathered recomputation, 200 the whole-chunk one."""
  from ssljax.cluster import kmeans

  rng = np.random.RandomState(n_on_ties)
  n, d, k = 1024, 16, 17
  x = rng.randn(n, d) / 4
  c = x[rng.choice(n, k, replace=False)].copy()
  c[5] = c[2]
  x[:n_on_ties] = c[2]
  # 30 rows 1e-9 off the bisector of two close centres: float64 tells them apart, float32 cannot.
  e = rng.randn(d)
  e /= np.linalg.norm(e)
  c[7] = c[3] + 0.01 * e
  v = rng.randn(30, d) * 1e-3
  v -= np.outer(v @ e, e)
  x[n_on_ties : n_on_ties + 30] = (c[3] + c[7]) / 2 + v + 1e-9 * rng.choice([-1, 1], (30, 1)) * e
  c2, cn = -2 * c, np.sum(c * c, 1)
  with jax.enable_x64(True):
    block = jnp.dot(c2, x.T, precision=jax.lax.Precision.HIGHEST) + cn[:, None]
    _, want = kmeans.argmin0(block)
    dmin, got = jax.jit(kmeans._assign_f64)(x, c2, cn)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert dmin.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(dmin), np.min(np.asarray(block), 0), rtol=0, atol=1e-14)
  assert np.sum(np.asarray(want) == 5) == 0  # the duplicate never wins a tie
  near = np.asarray(want)[n_on_ties : n_on_ties + 30]
  assert set(near) == {3, 7}  # the rows really sit between the two centres


def test_float64_knn_from_float32_distances_is_the_float64_knn():
  """The float64 kNN ranks in float32 and finishes on float64 candidates only where its error bound proves them
  complete. Checked against numpy's float64 distances (stable argsort: ties to the lowest index) on random points
  (far from ties), exact ties (duplicated points) and, around the first query, 30 points at radii 0.5 + i 1e-10
  listed farthest first: float32 cannot rank them, and taking its lowest-index candidates would miss the true
  nearest, so that query needs the float64 fallback."""
  from ssljax.cluster import label_propagation as lp

  rng = np.random.RandomState(0)
  x = rng.randn(600, 8)
  x[100:110] = x[:10]  # exact duplicates
  e = rng.randn(30, 8)
  e /= np.linalg.norm(e, axis=1, keepdims=True)
  x[200:230] = x[0] + (0.5 + np.arange(30)[::-1, None] * 1e-10) * e
  k = 7
  got = lp.knn(x, x, k)
  dist = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
  want = np.argsort(dist, axis=1, kind='stable')[:, :k]
  np.testing.assert_array_equal(got, want)
  assert set(want[0]) >= {0, 100} and set(want[0][2:]) <= set(range(200, 230))
