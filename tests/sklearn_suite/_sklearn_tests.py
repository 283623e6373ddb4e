"""Loads scikit-learn's own unit tests (shipped inside the installed package) against ssljax's estimators.

Each test module is executed afresh from scikit-learn's installation under a new name, with the estimator
names it imports bound to ssljax's classes; its assertions run unchanged. Nothing is copied into this repository.
"""

import importlib.util
import os
import types

import sklearn


def load(relpath, name, patches, aliases=()):
  """Executes sklearn/<relpath> as module `name` while `patches` [(module, attr, value)] are in place.

  The patches make `from sklearn.x import Estimator` (and parametrize lists built at import time) see ssljax's
  classes; they are undone afterwards, so scikit-learn itself is left as it was. `aliases` [(global name,
  module, {attr: value})] rebinds a module the tests import whole to a copy with those attributes replaced,
  for the names the test bodies look up at call time.
  """
  path = os.path.join(os.path.dirname(sklearn.__file__), *relpath.split('/'))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  saved = [(m, a, getattr(m, a)) for m, a, _ in patches]
  try:
    for m, a, v in patches:
      setattr(m, a, v)
    spec.loader.exec_module(module)
  finally:
    for m, a, v in saved:
      setattr(m, a, v)
  for global_name, original, replaced in aliases:
    copy = types.ModuleType(original.__name__)
    copy.__dict__.update(vars(original))
    copy.__dict__.update(replaced)
    setattr(module, global_name, copy)
  return module


def exported(module):
  """The test functions, test classes and fixtures of a loaded module, for a test file's globals()."""
  out = {}
  for key, value in vars(module).items():
    is_fixture = type(value).__name__ == 'FixtureFunctionDefinition' or hasattr(value, '_pytestfixturefunction')
    if key.startswith(('test_', 'Test')) or is_fixture:
      out[key] = value
  return out


# The tests that cannot apply to ssljax, and why: the one list. A name matches a whole test (all its
# parametrisations); sparse parametrisations are recognised from their parameter values (see is_sparse_case).
_SKLEARN_ONLY = "exercises only scikit-learn's own functions or private helpers, not the estimator"
_PRIVATE = "calls or mocks scikit-learn's private estimator internals, which ssljax's estimators do not have"
_ARRAY_API = "array API dispatch (ssljax computes in JAX on numpy input)"
NOT_APPLICABLE = {
  # test_k_means.py
  'test_relocate_empty_clusters': _SKLEARN_ONLY + ' (_relocate_empty_clusters_dense)',
  'test_minibatch_update_consistency': _SKLEARN_ONLY + ' (_mini_batch_step)',
  'test_minibatch_reassign': _SKLEARN_ONLY + ' (_mini_batch_step)',
  'test_k_means_function': _SKLEARN_ONLY + ' (sklearn.cluster.k_means)',
  'test_euclidean_distance': _SKLEARN_ONLY + ' (_euclidean_dense_dense)',
  'test_inertia': _SKLEARN_ONLY + ' (_inertia_dense)',
  'test_kmeans_plusplus_wrong_params': _SKLEARN_ONLY + ' (sklearn.cluster.kmeans_plusplus)',
  'test_kmeans_plusplus_output': _SKLEARN_ONLY + ' (sklearn.cluster.kmeans_plusplus)',
  'test_kmeans_plusplus_norms': _SKLEARN_ONLY + ' (sklearn.cluster.kmeans_plusplus)',
  'test_kmeans_plusplus_dataorder': _SKLEARN_ONLY + ' (sklearn.cluster.kmeans_plusplus)',
  'test_is_same_clustering': _SKLEARN_ONLY + ' (_is_same_clustering)',
  # test_gaussian_mixture.py
  'test_suffstat_sk_full': _SKLEARN_ONLY + ' (_estimate_gaussian_covariances_full)',
  'test_suffstat_sk_tied': _SKLEARN_ONLY + ' (_estimate_gaussian_covariances_tied)',
  'test_suffstat_sk_diag': _SKLEARN_ONLY + ' (_estimate_gaussian_covariances_diag)',
  'test_gaussian_suffstat_sk_spherical': _SKLEARN_ONLY + ' (_estimate_gaussian_covariances_spherical)',
  'test_compute_log_det_cholesky': _SKLEARN_ONLY + ' (_compute_log_det_cholesky)',
  'test_gaussian_mixture_log_probabilities': _SKLEARN_ONLY + ' (_estimate_log_gaussian_prob)',
  'test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters': _PRIVATE
  + ' (mocks _estimate_gaussian_parameters)',
  'test_gaussian_mixture_array_api_compliance': _ARRAY_API,
  'test_gaussian_mixture_raises_where_array_api_not_implemented': _ARRAY_API,
  # test_label_propagation.py
  'test_sparse_input_types': 'sparse X: ssljax refuses sparse input with a TypeError',
}
SPARSE = 'sparse X: ssljax refuses sparse input with a TypeError'
# Sparse parameters that are not X: here a callable kernel returns a sparse affinity, which ssljax accepts.
SPARSE_BUT_DENSE_X = {'test_label_propagation_build_graph_normalized'}


def is_sparse_case(params):
  """True for a parametrisation that feeds sparse X (a sparse matrix, its class or constructor, or its name)."""
  import scipy.sparse as sp

  for v in params.values():
    if sp.issparse(v) or (isinstance(v, type) and issubclass(v, (sp.spmatrix, sp.sparray))):
      return True
    if getattr(v, '__module__', '').startswith('scipy.sparse') or (isinstance(v, str) and v.startswith('sparse')):
      return True
  return False
