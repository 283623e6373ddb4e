"""k-means core and estimators against scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import cluster as skc
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import adjusted_rand_score

from ssljax import cluster
from ssljax.cluster import kmeans


@pytest.fixture(scope='module')
def blobs():
  # float64: compared with scikit-learn (float64) the summation orders differ only at ~1e-15 relative.
  x, y = make_blobs(300, 4, centers=5, cluster_std=0.6, random_state=0)
  return x, y


def _margin(x, centers):
  """Smallest nearest/second-nearest squared-distance gap, relative to the largest distance."""
  d = ((x[:, None, :] - centers[None]) ** 2).sum(-1)
  d.sort(axis=1)
  return float(np.min(d[:, 1] - d[:, 0]) / d.max())


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('k', [1, 2, 37, 64, 256])
def test_argmin0_exact_with_ties_and_negatives(k, dtype):
  rng = np.random.RandomState(0)
  d = rng.randn(k, 301).astype(dtype)
  if k > 5:
    d[5] = d[3]  # exact ties: lowest index wins, as numpy
  if k >= 64:
    d[k // 2 + 1] = d[1]  # a tie across the row slices argmin0 folds together
    d[k - 1, 20:40] = d[:, 20:40].min(0)  # the last row ties for the minimum
  d[:, :10] = np.round(d[:, :10])
  if k > 1:
    d[:, 50] = 1.0
    d[0, 50], d[1, 50] = 0.0, -0.0  # equal values: index 0 wins, whatever the sign bit
  with jax.enable_x64(True):
    v, i = jax.jit(kmeans.argmin0)(jnp.asarray(d))
  np.testing.assert_array_equal(np.asarray(i), d.argmin(0))
  np.testing.assert_array_equal(np.asarray(v), d.min(0))


def test_lloyd_matches_sklearn_from_same_centres():
  x = load_iris().data  # float64, as scikit-learn's fit
  init = x[[0, 50, 100]]
  ours = kmeans.fit(x, 3, init=init, max_iter=300, tol=1e-4, chunk=64)
  ref = skc.KMeans(3, init=init, n_init=1, max_iter=300, tol=1e-4).fit(x)
  assert _margin(x, ref.cluster_centers_) > 1e-9  # no label within float64 rounding of a tie
  assert adjusted_rand_score(ref.labels_, ours.labels) == 1.0
  np.testing.assert_array_equal(ours.labels, ref.labels_)
  assert abs(ours.inertia - ref.inertia_) / ref.inertia_ < 1e-4
  assert ours.n_iter == ref.n_iter_
  np.testing.assert_allclose(ours.centers, ref.cluster_centers_, rtol=1e-10)


def test_kmeans_plusplus_reproduces_sklearn_seeding(blobs):
  x, _ = blobs
  u = np.random.RandomState(3).random_sample(kmeans.n_uniforms(5))
  _, idx = kmeans.kmeans_plusplus(x, 5, uniforms=u)
  _, ref = skc.kmeans_plusplus(x, 5, random_state=3)
  np.testing.assert_array_equal(idx, ref)


@pytest.mark.parametrize('init', ['k-means++', 'random'])
def test_estimator_matches_sklearn_with_random_state(blobs, init):
  x, _ = blobs
  ours = cluster.KMeans(5, init=init, n_init=2, random_state=0).fit(x)
  ref = skc.KMeans(5, init=init, n_init=2, random_state=0).fit(x)
  assert adjusted_rand_score(ref.labels_, ours.labels_) == 1.0
  assert abs(ours.inertia_ - ref.inertia_) / ref.inertia_ < 1e-4
  np.testing.assert_array_equal(ours.predict(x), ours.labels_)
  assert ours.transform(x).shape == (300, 5)
  assert ours.score(x) == pytest.approx(-ours.inertia_, rel=1e-4)


def test_empty_cluster_is_reseeded_from_far_points(blobs):
  x, _ = blobs
  init = np.concatenate([x[:4], np.full((1, 4), 1e3)])
  ours = kmeans.fit(x, 5, init=init, chunk=64)
  ref = skc.KMeans(5, init=init, n_init=1).fit(x)
  assert np.isfinite(ours.centers).all()
  assert len(np.unique(ours.labels)) == 5
  assert abs(ours.inertia - ref.inertia_) / ref.inertia_ < 1e-3


def test_chunking_does_not_change_the_result(blobs):
  x, _ = blobs
  init = x[:5]
  a = kmeans.fit(x, 5, init=init, chunk=4096)
  b = kmeans.fit(x, 5, init=init, chunk=7)
  np.testing.assert_array_equal(a.labels, b.labels)
  assert a.inertia == pytest.approx(b.inertia, rel=1e-5)


def test_sample_weight_zero_drops_points(blobs):
  x, _ = blobs
  w = np.ones(300)
  w[::3] = 0
  init = x[1:6]
  a = kmeans.fit(x, 5, init=init, sample_weight=w)
  b = kmeans.fit(x[w > 0], 5, init=init)
  np.testing.assert_allclose(a.centers, b.centers, rtol=1e-10, atol=1e-10)


def test_inertia_curve_decreases(blobs):
  x, _ = blobs
  curve = kmeans.inertia_curve(x, [1, 2, 5, 8], key=jax.random.key(0))
  assert (np.diff(curve) < 0).all()


def test_minibatch_finds_the_blobs(blobs):
  x, y = blobs
  est = cluster.MiniBatchKMeans(5, batch_size=64, random_state=0, n_init=3).fit(x)
  assert adjusted_rand_score(y, est.labels_) > 0.95
  mb = cluster.MiniBatchKMeans(5, batch_size=64, random_state=0)
  for i in range(0, 300, 60):
    mb.partial_fit(x[i : i + 60])
  assert np.isfinite(mb.cluster_centers_).all()


def test_identical_points_and_integer_data():
  x = np.ones((10, 3), np.int64)
  est = cluster.KMeans(3, n_init=1, random_state=0)
  with pytest.warns(Warning, match='distinct clusters'):
    est.fit(x)
  assert est.inertia_ == 0.0 and np.isfinite(est.cluster_centers_).all()


@pytest.mark.parametrize(
  'x, k, match',
  [
    (np.array([[0.0, np.nan], [1.0, 2.0]]), 1, 'NaN'),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), 1, 'Inf'),
    (np.zeros((3,)), 1, '2-D'),
    (np.zeros((3, 2)), 0, 'n_clusters'),
    (np.zeros((3, 2)), 4, 'n_clusters'),
  ],
)
def test_bad_input(x, k, match):
  with pytest.raises(ValueError, match=match):
    kmeans.fit(x, k)
