"""Gaussian-mixture EM against scikit-learn."""

import numpy as np
import pytest
from sklearn import mixture
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import adjusted_rand_score

from ssljax import cluster
from ssljax.cluster import gmm


@pytest.fixture(scope='module')
def iris():
  return load_iris().data  # float64, as scikit-learn's fits it is compared with


@pytest.mark.parametrize('cov', ['full', 'tied', 'diag', 'spherical'])
def test_lower_bound_matches_sklearn(iris, cov):
  means = iris[[0, 60, 120]]
  kw = dict(covariance_type=cov, means_init=means, random_state=0)
  ours = cluster.GaussianMixture(3, **kw).fit(iris)
  ref = mixture.GaussianMixture(3, **kw).fit(iris)
  # n_iter can be compared: no bound change lies within float64 rounding of the stopping threshold tol.
  changes = np.abs(np.diff([-np.inf] + ref.lower_bounds_))
  assert np.all(np.abs(changes - ref.tol) > 1e-9)
  assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-9 * abs(ref.lower_bound_)
  np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
  assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
  np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
  np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7, atol=1e-9)
  proba = ref.predict_proba(iris)
  top2 = np.sort(proba, axis=1)[:, -2:]
  assert np.all(top2[:, 1] - top2[:, 0] > 1e-6)  # predict is an argmax: no near-tie
  np.testing.assert_array_equal(ours.predict(iris), ref.predict(iris))
  np.testing.assert_allclose(ours.predict_proba(iris), proba, atol=1e-7)
  np.testing.assert_allclose(ours.score_samples(iris), ref.score_samples(iris), rtol=1e-7)
  assert ours.bic(iris) == pytest.approx(ref.bic(iris), rel=1e-7)
  assert ours.aic(iris) == pytest.approx(ref.aic(iris), rel=1e-7)


@pytest.mark.parametrize('cov', ['full', 'tied', 'diag', 'spherical'])
def test_all_parameters_given_match_sklearn(iris, cov):
  """weights_init + means_init + precisions_init: the initial statistics pass is skipped; same fit as scikit-learn."""
  var = iris.var(0).astype(np.float64)
  prec = {
    'full': np.stack([np.diag(1 / var)] * 3),
    'tied': np.diag(1 / var),
    'diag': np.tile(1 / var, (3, 1)),
    'spherical': np.full(3, 1 / var.mean()),
  }[cov]
  kw = dict(
    covariance_type=cov,
    weights_init=[0.2, 0.3, 0.5],
    means_init=iris[[0, 60, 120]],
    precisions_init=prec,
    max_iter=5,
    tol=0.0,
    random_state=0,
  )
  ours = cluster.GaussianMixture(3, **kw).fit(iris)
  with pytest.warns(Warning):  # scikit-learn: not converged after 5 iterations
    ref = mixture.GaussianMixture(3, **kw).fit(iris)
  assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-3 * abs(ref.lower_bound_)
  np.testing.assert_allclose(ours.means_, ref.means_, atol=1e-3)
  np.testing.assert_allclose(ours.weights_, ref.weights_, atol=1e-4)


def test_random_init_and_n_init(iris):
  kw = dict(init_params='random', n_init=2, random_state=1, covariance_type='diag')
  ours = cluster.GaussianMixture(3, **kw).fit(iris)
  ref = mixture.GaussianMixture(3, **kw).fit(iris)
  assert abs(ours.lower_bound_ - ref.lower_bound_) < 1e-3 * abs(ref.lower_bound_)


def test_semi_supervised_labels_stay_clamped():
  x, y = make_blobs(200, 2, centers=[[0, 0], [5, 0]], cluster_std=1.0, random_state=0)
  labels = np.full(200, -1)
  labels[:10] = y[:10]
  res = gmm.fit(x, 2, covariance_type='diag', labels=labels)
  est = cluster.GaussianMixture(2, covariance_type='diag', random_state=0).fit(x, labels=labels)
  assert np.isfinite(res.lower_bound)
  pred = est.predict(x)
  assert adjusted_rand_score(y, pred) > 0.9
  # components follow the labels' numbering
  assert (pred[:10] == y[:10]).mean() > 0.9


def test_degenerate_data_gives_clear_error_or_finite_result():
  x = np.ones((20, 2), np.float32)
  est = cluster.GaussianMixture(2, random_state=0, reg_covar=1e-6).fit(x)
  assert np.isfinite(est.score_samples(x)).all()
  with pytest.raises(ValueError, match='ill-defined'):
    gmm.fit(x, 2, reg_covar=0.0)


@pytest.mark.parametrize(
  'kw, match',
  [
    (dict(x=np.zeros((5, 2)), n_components=0), 'n_components'),
    (dict(x=np.zeros((5, 2)), n_components=6), 'n_components'),
    (dict(x=np.array([[np.nan, 1.0], [0.0, 1.0]]), n_components=1), 'NaN'),
    (dict(x=np.zeros((5, 2, 1)), n_components=1), '2-D'),
    (dict(x=np.eye(5), n_components=2, labels=np.array([0, 1, 2, -1, -1])), 'labels'),
    (dict(x=np.eye(5), n_components=2, covariance_type='bogus'), 'covariance_type'),
  ],
)
def test_bad_input(kw, match):
  with pytest.raises(ValueError, match=match):
    gmm.fit(kw.pop('x'), kw.pop('n_components'), **kw)


def test_core_fit_random_init(iris):
  """gmm.fit's own init_params='random' (the estimator draws its responsibilities on the host instead)."""
  res = gmm.fit(iris, 3, covariance_type='diag', init_params='random', n_init=2)
  assert np.isfinite(res.lower_bound) and res.weights.shape == (3,)
