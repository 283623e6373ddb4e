"""scikit-learn's estimator checks on the ssljax.cluster estimators."""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from ssljax import cluster

# scikit-learn marks these same checks as expected failures for its own KMeans
# and MiniBatchKMeans: with random seeding, weighting a point by 2 is not the
# same as repeating it (the seeding draws differ), so the check cannot apply.
_WEIGHT_REASON = 'sample_weight is not equivalent to removing/repeating samples (random seeding).'
_WEIGHT_XFAIL = {
  'check_sample_weight_equivalence_on_dense_data': _WEIGHT_REASON,
  'check_sample_weight_equivalence_on_sparse_data': _WEIGHT_REASON,
}

# Small settings, as scikit-learn's own test suite uses for these estimators.
CASES = [
  (cluster.KMeans(n_init=2, n_clusters=2, max_iter=5), _WEIGHT_XFAIL),
  (cluster.MiniBatchKMeans(n_init=2, n_clusters=2, max_iter=5, batch_size=10), _WEIGHT_XFAIL),
  (cluster.GaussianMixture(n_init=2, max_iter=5), {}),
  (cluster.LabelSpreading(max_iter=5), {}),
  (cluster.LabelPropagation(max_iter=5), {}),
]


@pytest.mark.parametrize('est, xfail', CASES, ids=lambda v: type(v).__name__ if not isinstance(v, dict) else '')
def test_check_estimator(est, xfail):
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    results = check_estimator(est, expected_failed_checks=xfail, on_fail=None)
  failed = [(r['check_name'], repr(r['exception'])[:300]) for r in results if r['status'] == 'failed']
  assert not failed, failed
