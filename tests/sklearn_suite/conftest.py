"""Fixtures scikit-learn's test modules expect (from its own conftest, which is not loaded here), and the
not-applicable list (_sklearn_tests.NOT_APPLICABLE) applied as skips that give the reason."""

import os

import numpy as np
import pytest
from _sklearn_tests import NOT_APPLICABLE, SPARSE, SPARSE_BUT_DENSE_X, is_sparse_case


@pytest.fixture(params=[np.float32, np.float64] if os.environ.get('SKLEARN_RUN_FLOAT32_TESTS') == '1' else [np.float64])
def global_dtype(request):
  return request.param


def _seeds(value):
  """scikit-learn's SKLEARN_TESTS_GLOBAL_RANDOM_SEED: unset (42), 'all' (0-99), 'a-b' or one seed."""
  if value is None:
    return [42]
  if value == 'all':
    return list(range(100))
  lo, _, hi = value.partition('-')
  return list(range(int(lo), int(hi or lo) + 1))


def pytest_generate_tests(metafunc):
  if 'global_random_seed' in metafunc.fixturenames:
    metafunc.parametrize('global_random_seed', _seeds(os.environ.get('SKLEARN_TESTS_GLOBAL_RANDOM_SEED')))


def pytest_collection_modifyitems(config, items):
  for item in items:
    if '/sklearn_suite/' not in str(item.fspath).replace(os.sep, '/'):
      continue
    name = item.originalname or item.name
    params = item.callspec.params if hasattr(item, 'callspec') else {}
    sparse_x = name not in SPARSE_BUT_DENSE_X and is_sparse_case(params)
    reason = NOT_APPLICABLE.get(name) or (SPARSE if sparse_x else None)
    if reason:
      item.add_marker(pytest.mark.skip(reason=f'not applicable: {reason}'))
