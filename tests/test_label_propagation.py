"""Label propagation / spreading against scikit-learn."""

import numpy as np
import pytest
from sklearn import semi_supervised as sks
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors

from ssljax import cluster
from ssljax.cluster import label_propagation as lp


@pytest.fixture(scope='module')
def digits():
  x, y = load_digits(return_X_y=True)
  rng = np.random.RandomState(0)
  x = x[:600] / 16 + 1e-3 * rng.randn(600, 64)  # no exact distance ties; float64, as scikit-learn's fit
  y = y[:600]
  yl = y.copy()
  yl[rng.rand(600) < 0.9] = -1
  return x, y, yl


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_knn_selection_is_exact_with_ties(dtype):
  """Many exactly equal distances (a coarse grid): the k distances found are the k smallest."""
  x = (np.round(np.random.RandomState(1).randn(2000, 2) * 2) / 2).astype(dtype)
  nbrs = lp.knn(x, x, 5, chunk=128, block=16)
  d = ((x[:, None].astype(np.float64) - x[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(np.take_along_axis(d, nbrs, 1), np.sort(d, axis=1)[:, :5])


def test_knn_is_exact():
  x = np.random.RandomState(0).randn(1000, 8)  # float64, as scikit-learn computes; no near-ties in 8-D normals
  ours = lp.knn(x, x, 7, chunk=128, block=16)
  ref = NearestNeighbors(n_neighbors=7).fit(x).kneighbors(x, return_distance=False)
  np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(
  'cls, ref_cls', [(cluster.LabelSpreading, sks.LabelSpreading), (cluster.LabelPropagation, sks.LabelPropagation)]
)
@pytest.mark.parametrize('kernel, kw', [('knn', {}), ('rbf', dict(gamma=1.0))])
def test_transduction_matches_sklearn(digits, cls, ref_cls, kernel, kw):
  x, _, yl = digits
  ours = cls(kernel=kernel, max_iter=50, **kw).fit(x, yl)
  ref = ref_cls(kernel=kernel, max_iter=50, **kw).fit(x, yl)
  np.testing.assert_array_equal(ours.transduction_, ref.transduction_)
  np.testing.assert_allclose(ours.label_distributions_, ref.label_distributions_, atol=1e-9)
  assert ours.n_iter_ == ref.n_iter_
  np.testing.assert_array_equal(ours.predict(x[:50]), ref.predict(x[:50]))


def test_works_on_embeddings(digits):
  x, y, yl = digits
  emb = x @ np.random.RandomState(1).randn(64, 16).astype(np.float32)
  est = cluster.LabelSpreading(kernel='knn').fit(emb, np.where(yl >= 0, yl, -1))
  assert (est.transduction_ == y).mean() > 0.8


@pytest.mark.parametrize(
  'kw, match',
  [
    (dict(y=np.full(10, -1)), 'at least one label'),
    (dict(y=np.array([0, 1, 5] + [-1] * 7), n_classes=2), r'\[-1, 2\)'),
    (dict(y=np.zeros(10, int), alpha=1.5), 'alpha'),
    (dict(y=np.zeros(10, int), kernel='poly'), 'kernel'),
  ],
)
def test_bad_input(kw, match):
  x = np.random.RandomState(0).randn(10, 2)
  with pytest.raises(ValueError, match=match):
    lp.fit(x, **kw)
