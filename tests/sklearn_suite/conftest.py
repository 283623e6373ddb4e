"""Fixtures scikit-learn's test modules expect (from its own conftest, which is not loaded here)."""

import os

import numpy as np
import pytest


@pytest.fixture(params=[np.float32, np.float64] if os.environ.get('SKLEARN_RUN_FLOAT32_TESTS') == '1' else [np.float64])
def global_dtype(request):
  return request.param


def pytest_generate_tests(metafunc):
  if 'global_random_seed' in metafunc.fixturenames:
    metafunc.parametrize('global_random_seed', [int(os.environ.get('SKLEARN_TESTS_GLOBAL_RANDOM_SEED', 42))])
