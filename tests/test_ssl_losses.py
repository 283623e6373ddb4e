"""The joint-embedding losses (ssljax/losses.py) against direct float64 loops, and their global statistics on 4
devices against 1.

Everything runs in float64 (jax.enable_x64): each value is a sum of at most a few thousand terms, whose rounding
error is below ~1e3 · 1.1e-16 ≈ 1e-13 relative, so rtol 1e-10 judges the equations, not the rounding. On 4 devices
the only difference is the order of the cross-device sums, of the same size.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax import losses, parallel

from helpers import data_mesh, put, softmax64

RTOL = 1e-10


def _cos(u, v):
  return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _rng(seed=0):
  return np.random.default_rng(seed)


def test_byol_and_simsiam_losses():
  rng = _rng()
  p, z = rng.normal(size=(2, 5, 7))
  with jax.enable_x64(True):
    byol = np.asarray(jax.jit(losses.byol_loss)(p, z))
    simsiam = np.asarray(jax.jit(losses.simsiam_loss)(p, z))
  for b in range(5):
    u, v = p[b] / np.linalg.norm(p[b]), z[b] / np.linalg.norm(z[b])
    np.testing.assert_allclose(byol[b], np.sum((u - v) ** 2), rtol=RTOL)
    np.testing.assert_allclose(simsiam[b], -_cos(p[b], z[b]), rtol=RTOL)


def test_infonce_queue_with_unfilled_slots():
  rng = _rng(1)
  q, k = rng.normal(size=(2, 4, 6))
  queue = rng.normal(size=(5, 6))
  queue /= np.linalg.norm(queue, axis=1, keepdims=True)
  valid = np.array([True, True, False, True, False])
  tau = 0.2
  with jax.enable_x64(True):
    loss, hit = jax.jit(losses.infonce_queue, static_argnums=3)(q, k, queue, tau, valid)
  for b in range(4):
    pos = math.exp(_cos(q[b], k[b]) / tau)
    negs = [math.exp(_cos(q[b], queue[j]) / tau) for j in range(5) if valid[j]]
    np.testing.assert_allclose(loss[b], -math.log(pos / (pos + sum(negs))), rtol=RTOL)
    assert bool(hit[b]) == (pos > max(negs))


def _standardise(z, eps=1e-5):
  out = np.zeros_like(z)
  for d in range(z.shape[1]):
    col = z[:, d]
    out[:, d] = (col - col.mean()) / math.sqrt(np.mean((col - col.mean()) ** 2) + eps)
  return out


def naive_barlow(z1, z2, lambd):
  a, b = _standardise(z1), _standardise(z2)
  n, d = z1.shape
  total = 0.0
  for i in range(d):
    for j in range(d):
      c = sum(a[k, i] * b[k, j] for k in range(n)) / n
      total += (1 - c) ** 2 if i == j else lambd * c**2
  return total


def naive_vicreg(z1, z2, eps=1e-4):
  n, d = z1.shape
  inv = np.sum((z1 - z2) ** 2) / (n * d)
  var = cov = 0.0
  for z in (z1, z2):
    c = np.array(
      [[np.sum((z[:, i] - z[:, i].mean()) * (z[:, j] - z[:, j].mean())) / (n - 1) for j in range(d)] for i in range(d)]
    )
    var += np.mean([max(0.0, 1 - math.sqrt(c[i, i] + eps)) for i in range(d)])
    cov += sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j) / d
  return inv, var, cov


def test_barlow_twins_and_vicreg_match_loops():
  rng = _rng(2)
  z1, z2 = rng.normal(size=(2, 12, 5))
  z2 = 0.3 * z2  # small std: the variance hinge is active
  with jax.enable_x64(True):
    bt, _, _ = jax.jit(losses.barlow_twins_loss, static_argnums=2)(z1, z2, 0.01)
    vic = jax.jit(losses.vicreg_terms)(z1, z2)
  np.testing.assert_allclose(bt, naive_barlow(z1, z2, 0.01), rtol=RTOL)
  for got, want in zip(vic, naive_vicreg(z1, z2)):
    assert want > 0
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_dino_loss_skips_same_view_pairs():
  rng = _rng(3)
  student = rng.normal(size=(4, 3, 6))  # 2 global + 2 local views
  teacher = rng.normal(size=(2, 3, 6))
  center = rng.normal(size=(6,)) * 0.1
  ts, tt = 0.1, 0.05
  with jax.enable_x64(True):
    got = jax.jit(losses.dino_loss, static_argnums=(3, 4))(student, teacher, center, ts, tt)

  for b in range(3):
    terms = []
    for t in range(2):
      pt = softmax64((teacher[t, b] - center) / tt)
      for s in range(4):
        if s != t:
          terms.append(-np.sum(pt * np.log(softmax64(student[s, b] / ts))))
    np.testing.assert_allclose(got[b], np.mean(terms), rtol=RTOL)


def naive_sinkhorn(scores, eps, iters):
  """SwAV's reference algorithm (distributed_sinkhorn on one process)."""
  q = np.exp(scores / eps).T  # K x B
  k, b = q.shape
  q /= q.sum()
  for _ in range(iters):
    q /= q.sum(axis=1, keepdims=True)
    q /= k
    q /= q.sum(axis=0, keepdims=True)
    q /= b
  return (q * b).T


def test_sinkhorn_and_swav_loss():
  rng = _rng(4)
  scores = np.tanh(rng.normal(size=(10, 4)))  # cosine-like scores in [-1, 1]
  s2 = np.tanh(rng.normal(size=(10, 4)))
  with jax.enable_x64(True):
    q = np.asarray(jax.jit(losses.sinkhorn, static_argnums=(1, 2))(scores, 0.05, 3))
    q2 = np.asarray(jax.jit(losses.sinkhorn, static_argnums=(1, 2))(s2, 0.05, 3))
    swav = np.asarray(jax.jit(losses.swav_loss, static_argnums=4)(scores, s2, q, q2, 0.1))
  np.testing.assert_allclose(q, naive_sinkhorn(scores, 0.05, 3), rtol=RTOL)
  np.testing.assert_allclose(q.sum(1), 1.0, rtol=RTOL)

  def log_softmax(x):
    return x - x.max() - np.log(np.sum(np.exp(x - x.max())))

  for b in range(10):
    want = -0.5 * (np.sum(q2[b] * log_softmax(scores[b] / 0.1)) + np.sum(q[b] * log_softmax(s2[b] / 0.1)))
    np.testing.assert_allclose(swav[b], want, rtol=RTOL)


def test_collapse_diagnostics():
  rng = _rng(5)
  z = rng.normal(size=(64, 8))
  with jax.enable_x64(True):
    std = float(jax.jit(losses.embedding_std)(z))
    rank = float(jax.jit(losses.effective_rank)(z))
    collapsed = float(jax.jit(losses.embedding_std)(np.ones((64, 8)) + 1e-9 * z))
  zn = z / np.linalg.norm(z, axis=1, keepdims=True)
  np.testing.assert_allclose(std, np.mean(zn.std(0)), rtol=RTOL)
  sigma = np.linalg.svd(z - z.mean(0), compute_uv=False)
  p = sigma / sigma.sum()
  np.testing.assert_allclose(rank, math.exp(-np.sum(p * np.log(p))), rtol=RTOL)
  assert 0.8 / math.sqrt(8) < std < 1.2 / math.sqrt(8) and 6 < rank <= 8 and collapsed < 1e-6


# ---------------------------------------------------------------- 4 devices == 1 device, same global batch


def _sharded(mesh, fn, n_in, out_specs):
  return jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=(P("data"),) * n_in, out_specs=out_specs))


@pytest.mark.parametrize("which", ["barlow_twins", "vicreg"])
def test_global_statistics_and_gradients_on_four_devices(which):
  """Barlow Twins' cross-correlation and VICReg's variance/covariance over the gathered global batch: the value and
  each device's gradient (its share, differentiated as loss / n) equal the single-device ones."""
  n = 4
  mesh = data_mesh(n)
  rng = _rng(6)
  with jax.enable_x64(True):
    z1, z2 = rng.normal(size=(2, 4 * n, 6))
    z2 = 0.5 * z2 + 0.5 * z1
    if which == "barlow_twins":
      f = lambda a, b: losses.barlow_twins_loss(a, b, 0.02)[0]
      stat = lambda a, b: losses.cross_correlation(a, b)
    else:
      f = lambda a, b: sum(losses.vicreg_terms(a, b))
      stat = lambda a, b: jnp.stack(losses.vicreg_terms(a, b))
    want, want_g = jax.value_and_grad(f, argnums=(0, 1))(z1, z2)
    want_stat = stat(z1, z2)

    def per_device(a, b):
      ga, gb = parallel.gather(a), parallel.gather(b)
      value, g = jax.value_and_grad(lambda a, b: f(parallel.gather(a), parallel.gather(b)) / n, argnums=(0, 1))(a, b)
      s = lax.all_gather(stat(ga, gb)[None], "data", tiled=True, to="invarying")[0]
      return lax.psum(value, "data"), g, s

    got, g, s = _sharded(mesh, per_device, 2, (P(), (P("data"), P("data")), P()))(*put(mesh, P("data"), z1, z2))
    np.testing.assert_allclose(got, want, rtol=RTOL)
    np.testing.assert_allclose(s, want_stat, rtol=RTOL, atol=1e-14)
    for a, w in zip(g, want_g):
      np.testing.assert_allclose(a, w, rtol=1e-9, atol=1e-14)


def test_sinkhorn_and_dino_centre_on_four_devices():
  """SwAV's assignment (psum'd batch sums) and DINO's centre (global mean) computed per device equal the
  single-device values on the same global batch."""
  n = 4
  mesh = data_mesh(n)
  rng = _rng(7)
  with jax.enable_x64(True):
    scores = np.tanh(rng.normal(size=(3 * n, 5)))
    teacher = rng.normal(size=(3 * n, 5))
    want_q = losses.sinkhorn(scores, 0.05, 3)
    want_c = 0.9 * 0.1 + 0.1 * teacher.mean(0)

    def per_device(s, t):
      return losses.sinkhorn(s, 0.05, 3, axis_name="data"), 0.9 * 0.1 + 0.1 * parallel.global_mean(t)

    q, c = _sharded(mesh, per_device, 2, (P("data"), P()))(*put(mesh, P("data"), scores, teacher))
    np.testing.assert_allclose(q, want_q, rtol=RTOL)
    np.testing.assert_allclose(c, want_c, rtol=RTOL)
    np.testing.assert_allclose(np.asarray(q), naive_sinkhorn(scores, 0.05, 3), rtol=RTOL)
