"""Data far from the origin, or scaled by 1e-30 .. 1e30: every estimator still fits it (centred, power-of-two
scaled before distances), and data beyond the float64 range get one clear ValueError."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from ssljax import cluster
from ssljax.cluster import kmeans


@pytest.fixture(scope='module')
def blobs():
  # Centres 20 apart with unit spread: every point is far nearer its own centre than any other (no near-ties).
  x, y = make_blobs(300, 3, centers=[[0, 0, 0], [20, 0, 0], [0, 20, 0]], cluster_std=1.0, random_state=0)
  return x, y


SCALES = [1e-30, 1e-10, 1.0, 1e19, 1e20, 1e30]


@pytest.mark.parametrize('scale', SCALES)
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_kmeans_any_scale(blobs, scale, dtype):
  x, y = blobs
  xs = (x * scale).astype(dtype)
  km = cluster.KMeans(3, n_init=1, random_state=0).fit(xs)
  assert adjusted_rand_score(y, km.labels_) == 1.0
  assert km.cluster_centers_.dtype == dtype and np.isfinite(km.cluster_centers_).all()
  ref = cluster.KMeans(3, n_init=1, random_state=0).fit(x.astype(dtype))
  # Power-of-two scaling is exact, so the fit is the unscaled one times `scale` up to dtype rounding.
  rtol = 1e-5 if dtype == np.float32 else 1e-12
  np.testing.assert_allclose(km.inertia_, ref.inertia_ * scale**2, rtol=rtol)
  np.testing.assert_allclose(km.cluster_centers_ / scale, ref.cluster_centers_, rtol=rtol, atol=rtol * 20)


@pytest.mark.parametrize('scale', [1e-30, 1e19, 1e30])
def test_minibatch_any_scale(blobs, scale):
  x, y = blobs
  mb = cluster.MiniBatchKMeans(3, batch_size=64, random_state=0, n_init=3).fit(x * scale)
  assert adjusted_rand_score(y, mb.labels_) == 1.0
  assert np.isfinite(mb.inertia_) and np.isfinite(mb.cluster_centers_).all()


@pytest.mark.parametrize('offset', [0.0, 1e4, 1e6])
def test_minibatch_far_from_origin(blobs, offset):
  """The steps run on centred data: an offset changes nothing (float32 loses nothing to cancellation)."""
  x, y = blobs
  ref = cluster.MiniBatchKMeans(3, batch_size=64, random_state=0, n_init=3).fit(x.astype(np.float32))
  mb = cluster.MiniBatchKMeans(3, batch_size=64, random_state=0, n_init=3).fit((x + offset).astype(np.float32))
  assert adjusted_rand_score(y, mb.labels_) == adjusted_rand_score(y, ref.labels_) == 1.0


@pytest.mark.parametrize('scale', [1e-30, 1e20, 1e30])
@pytest.mark.parametrize('cov', ['full', 'diag'])
def test_gmm_any_scale(blobs, scale, cov):
  x, y = blobs
  # reg_covar is absolute (data units): scaled with the data, the problem is the same at every scale.
  gm = cluster.GaussianMixture(3, covariance_type=cov, reg_covar=1e-6 * scale**2, random_state=0).fit(x * scale)
  assert adjusted_rand_score(y, gm.predict(x * scale)) == 1.0
  ref = cluster.GaussianMixture(3, covariance_type=cov, random_state=0).fit(x)
  # The bound shifts by -D log(scale); the fit is otherwise the unscaled one (float64 rounding apart).
  assert gm.lower_bound_ == pytest.approx(ref.lower_bound_ - 3 * np.log(scale), rel=1e-9)
  np.testing.assert_allclose(gm.means_ / scale, ref.means_, rtol=1e-9, atol=1e-8)
  assert np.isfinite(gm.score_samples(x * scale)).all()


@pytest.mark.parametrize('scale', [1e-30, 1e20, 1e30])
@pytest.mark.parametrize('kernel', ['knn', 'rbf'])
def test_label_spreading_any_scale(blobs, scale, kernel):
  x, y = blobs
  yl = np.full(300, -1)
  for c in range(3):
    yl[np.flatnonzero(y == c)[:3]] = c
  gamma = 0.05 / scale**2  # the same graph at every scale
  est = cluster.LabelSpreading(kernel=kernel, gamma=gamma).fit(x * scale, yl)
  assert np.isfinite(est.label_distributions_).all()
  assert (est.transduction_ == y).mean() == 1.0


def test_beyond_float64_range_is_one_clear_error():
  x = np.array([[1.7e308, 0.0], [1.6e308, 1.0], [1.5e308, 0.5]])  # the column sum overflows
  with pytest.raises(ValueError, match='too large for float64'):
    cluster.KMeans(2, n_init=1).fit(x)
  with pytest.raises(ValueError, match='too large for float64'):
    kmeans.fit(x, 2)


def test_float32_covariances_beyond_float32_range_is_one_clear_error(blobs):
  x, _ = blobs
  with pytest.raises(ValueError, match='float64'):
    cluster.GaussianMixture(3, random_state=0).fit((x * 1e30).astype(np.float32))
