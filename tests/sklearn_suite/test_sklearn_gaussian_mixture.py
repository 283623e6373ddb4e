"""scikit-learn's sklearn/mixture/tests/test_gaussian_mixture.py, run against ssljax's GaussianMixture."""

import sklearn.mixture
from _sklearn_tests import exported, load

from ssljax import cluster

_module = load(
  'mixture/tests/test_gaussian_mixture.py',
  'sklearn_suite_test_gaussian_mixture',
  [(sklearn.mixture, 'GaussianMixture', cluster.GaussianMixture)],
)
globals().update(exported(_module))
