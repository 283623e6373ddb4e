"""4 devices give the single-device result (rows sharded, statistics psummed)."""

import jax
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from ssljax.cluster import _sharding, gmm, kmeans

pytestmark = pytest.mark.skipif(len(jax.devices()) < 4, reason='needs 4 (fake) devices')


@pytest.fixture(scope='module')
def meshes():
  return _sharding.data_mesh(jax.devices()[:1]), _sharding.data_mesh(jax.devices()[:4])


@pytest.fixture(scope='module')
def data():
  # float64: 1 and 4 devices sum in different orders; in float64 those orders agree to ~1e-15 relative, far
  # inside the tolerances below, and the label checks are guarded by the assignment margin.
  x, _ = make_blobs(500, 3, centers=6, cluster_std=1.5, random_state=1)
  return x


def _margin(x, centers):
  """Smallest gap between each point's nearest and second-nearest squared distance, relative to the largest."""
  d = ((x[:, None, :] - centers[None]) ** 2).sum(-1)
  d.sort(axis=1)
  return float(np.min(d[:, 1] - d[:, 0]) / d.max())


def test_kmeans_one_vs_four_devices(meshes, data):
  init = np.concatenate([data[:5], np.full((1, 3), 50.0)])  # forces a reseed
  one, four = (kmeans.fit(data, 6, init=init, chunk=32, mesh=m) for m in meshes)
  # Labels are only comparable when no point sits within rounding of a tie (float64 rounding ~1e-15).
  assert _margin(data, one.centers) > 1e-9
  np.testing.assert_array_equal(one.labels, four.labels)
  np.testing.assert_allclose(one.centers, four.centers, rtol=1e-10, atol=1e-10)
  assert one.inertia == pytest.approx(four.inertia, rel=1e-10)
  assert one.n_iter == four.n_iter
  lab1, _ = kmeans.predict(data, one.centers, mesh=meshes[0], chunk=32)
  lab4, _ = kmeans.predict(data, one.centers, mesh=meshes[1], chunk=32)
  np.testing.assert_array_equal(lab1, lab4)


def test_layout_keeps_memory_per_chunk():
  n_chunks, chunk = _sharding.layout(1_000_003, 4, 4096)
  assert n_chunks % 4 == 0 and chunk <= 4096
  assert 0 <= n_chunks * chunk - 1_000_003 < n_chunks


@pytest.mark.parametrize('cov', ['full', 'diag'])
def test_gmm_one_vs_four_devices(meshes, data, cov):
  r = np.eye(3)[np.arange(500) % 3]
  # max_iter fixed and tol=0: the iteration count cannot hinge on a rounding-level bound change.
  kw = dict(covariance_type=cov, resp_init=r, chunk=32, max_iter=20, tol=0.0)
  one, four = (gmm.fit(data, 3, mesh=m, **kw) for m in meshes)
  assert one.lower_bound == pytest.approx(four.lower_bound, rel=1e-10)
  assert one.n_iter == four.n_iter == 20
  np.testing.assert_allclose(one.means, four.means, rtol=1e-8, atol=1e-8)


_FULL_D32 = r'''
import numpy as np, jax
from ssljax.cluster import _sharding, gmm
rng = np.random.RandomState(0)
x = rng.randn(16, 32)[np.arange(1024) % 16] + rng.randn(1024, 32)  # float64: orders of summation agree to 1e-12
r = np.eye(16)[np.arange(1024) % 16]
one, four = (gmm.fit(x, 16, covariance_type='full', resp_init=r, max_iter=3, tol=0.0, chunk=128,
                     mesh=_sharding.data_mesh(jax.devices()[:m])) for m in (1, 4))
assert abs(one.lower_bound - four.lower_bound) <= 1e-10 * abs(one.lower_bound), (one.lower_bound, four.lower_bound)
print('ok', one.lower_bound)
'''


def test_gmm_full_d32_k16_four_devices_does_not_hang():
  """A LAPACK triangular solve inside the sharded EM loop deadlocked at D=32, K>=8 on several CPU devices."""
  import os
  import subprocess
  import sys

  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=4')
  r = subprocess.run([sys.executable, '-c', _FULL_D32], capture_output=True, text=True, env=env, timeout=300)
  assert r.returncode == 0 and 'ok' in r.stdout, r.stderr[-2000:]
