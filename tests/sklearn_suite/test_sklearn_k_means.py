"""scikit-learn's sklearn/cluster/tests/test_k_means.py, run against ssljax's KMeans and MiniBatchKMeans."""

import sklearn.cluster
from _sklearn_tests import exported, load

from ssljax import cluster

_module = load(
  'cluster/tests/test_k_means.py',
  'sklearn_suite_test_k_means',
  [(sklearn.cluster, 'KMeans', cluster.KMeans), (sklearn.cluster, 'MiniBatchKMeans', cluster.MiniBatchKMeans)],
)
globals().update(exported(_module))
