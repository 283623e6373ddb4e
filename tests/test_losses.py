"""Tests for ssljax.losses (nt_xent on 1 and 2/4/8 fake CPU devices).

Single-device float32 results are compared with float64 references at rtol 1e-5: each is one reduction over at most
a few dozen terms, whose float32 rounding error is below ~30 · 6e-8 ≈ 2e-6 relative."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax import losses

from helpers import data_mesh, put

nt_xent = jax.jit(lambda z1, z2, tau: losses.nt_xent(z1, z2, tau)[0], static_argnums=2)  # Eager dispatch is slow.


def naive_nt_xent(z1, z2, tau):
  """Straight from SimCLR eq. (1), float64 loops; mean over all 2N anchors."""
  z = np.concatenate([z1, z2]).astype(np.float64)
  n2 = len(z)
  n = n2 // 2

  def sim(u, v):
    return u @ v / (np.linalg.norm(u) * np.linalg.norm(v))

  total = 0.0
  for i in range(n2):
    j = (i + n) % n2
    den = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(n2) if k != i)
    total += -math.log(math.exp(sim(z[i], z[j]) / tau) / den)
  return total / n2


def _data(b, d, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=(b, d)).astype(np.float32), rng.normal(size=(b, d)).astype(np.float32))


@pytest.mark.parametrize("b,d,tau", [(2, 3, 0.5), (5, 4, 0.1), (8, 16, 1.0)])
def test_nt_xent_matches_naive_equation(b, d, tau):
  z1, z2 = _data(b, d)
  got = nt_xent(z1, z2, tau)
  np.testing.assert_allclose(got, naive_nt_xent(z1, z2, tau), rtol=1e-5)


def test_nt_xent_scale_invariant_and_perfect_pairs():
  z1, z2 = _data(4, 8)
  base = nt_xent(z1, z2, 0.5)
  np.testing.assert_allclose(nt_xent(3 * z1, 0.2 * z2, 0.5), base, rtol=1e-5)
  # Identical orthogonal views, tiny τ: loss → 0.
  eye = jnp.eye(4, 8)
  assert nt_xent(eye, eye, 0.01) < 1e-6


def test_nt_xent_jit_and_zero_vector_gradient_finite():
  z1, z2 = _data(4, 3)
  z1[0] = 0.0
  g = jax.jit(jax.grad(lambda a, b: losses.nt_xent(a, b, 0.5)[0], argnums=(0, 1)))(z1, z2)
  assert all(np.isfinite(np.asarray(x)).all() for x in g)


def test_cross_entropies():
  logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 1000.0]], np.float32)
  labels = np.array([0, 1])
  p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], np.float32)
  onehot = np.eye(3, dtype=np.float32)[labels]
  lse = np.logaddexp.reduce(logits.astype(np.float64), axis=1, keepdims=True)
  logp = logits - lse
  hard, soft_onehot, soft = jax.jit(
    lambda: (
      losses.cross_entropy(logits, labels),
      losses.soft_cross_entropy(logits, onehot),
      losses.soft_cross_entropy(logits, p),
    )
  )()
  want = -logp[np.arange(2), labels]  # [2.4076, 1000.0]
  np.testing.assert_allclose(hard, want, rtol=1e-6)
  np.testing.assert_allclose(soft_onehot, want, rtol=1e-6)
  np.testing.assert_allclose(soft, -np.sum(p * logp, -1), rtol=1e-6)


# ---------------------------------------------------------------- shard_map --
# In float64: 1 and N devices differ only in summation order (~1e-16 relative per sum), so they agree to 1e-12.


@pytest.mark.parametrize("n", [2, 4, 8])
def test_nt_xent_sharded_loss_accuracy_and_z_grad_match_single_device(n):
  mesh = data_mesh(n)
  tau = 0.2
  with jax.enable_x64(True):
    z1, z2 = (z.astype(np.float64) for z in _data(3 * n, 6, seed=1))
    (want_loss, want_acc), want_g = jax.jit(
      jax.value_and_grad(lambda a, b: losses.nt_xent(a, b, tau), argnums=(0, 1), has_aux=True)
    )(z1, z2)

    # Convention: per device, grad of local_mean / num_devices; no pmean.
    @jax.jit
    @functools.partial(
      jax.shard_map, mesh=mesh, in_specs=(P("data"), P("data")), out_specs=(P(), P(), (P("data"), P("data")))
    )
    def sharded(z1, z2):
      def local(z1, z2):
        loss, acc = losses.nt_xent(z1, z2, tau, axis_name="data")
        return loss / n, acc

      (loss, acc), g = jax.value_and_grad(local, argnums=(0, 1), has_aux=True)(z1, z2)
      return lax.psum(loss, "data"), lax.pmean(acc, "data"), g

    loss, acc, g = sharded(*put(mesh, P("data"), z1, z2))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(loss, naive_nt_xent(z1, z2, tau), rtol=1e-12)
    np.testing.assert_allclose(acc, want_acc, rtol=1e-12)
    for a, w in zip(g, want_g):
      np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-14)

    # Differentiating through shard_map from outside agrees too.
    @functools.partial(jax.shard_map, mesh=mesh, in_specs=(P("data"), P("data")), out_specs=P())
    def mean_loss(z1, z2):
      return lax.pmean(losses.nt_xent(z1, z2, tau, axis_name="data")[0], "data")

    g_out = jax.jit(jax.grad(mean_loss, argnums=(0, 1)))(*put(mesh, P("data"), z1, z2))
    for a, w in zip(g_out, want_g):
      np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-14)


def test_nt_xent_accuracy_counts_nearest_positive():
  z = jnp.eye(4, 4)
  z2 = z.at[3].set(-z[3])  # example 3's second view points away: its positive is the least similar column
  _, acc = jax.jit(losses.nt_xent, static_argnums=2)(z, z2, 0.5)
  # Every other anchor's positive has similarity 1 against <= 0 elsewhere (no ties decide the answer).
  assert float(acc) == pytest.approx(6 / 8)


@pytest.mark.parametrize("n", [2, 4, 8])
def test_nt_xent_sharded_replicated_param_grad_matches_single_device(n):
  mesh = data_mesh(n)
  tau = 0.5
  rng = np.random.default_rng(2)
  with jax.enable_x64(True):
    x1 = rng.normal(size=(4 * n, 5))
    x2 = x1 + 0.3 * rng.normal(size=x1.shape)
    params = {"w": rng.normal(size=(5, 3)), "b": rng.normal(size=(3,))}

    def loss_fn(params, x1, x2, axis_name=None):
      proj = lambda x: x @ params["w"] + params["b"]
      return losses.nt_xent(proj(x1), proj(x2), tau, axis_name=axis_name)[0]

    want_loss, want_g = jax.jit(jax.value_and_grad(loss_fn))(params, x1, x2)

    @jax.jit
    @functools.partial(jax.shard_map, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=(P(), P()))
    def step(params, x1, x2):
      def local(params):
        return loss_fn(params, x1, x2, axis_name="data") / n

      loss, g = jax.value_and_grad(local)(params)
      # No pmean: g of the replicated params is already summed over devices (with that pmean, or without the / n,
      # it would be off by n×; this assertion also catches the opposite, a missing implicit psum).
      return lax.psum(loss, "data"), g

    (params_r,) = put(mesh, P(), params)
    loss, g = step(params_r, *put(mesh, P("data"), x1, x2))
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    for k in params:
      np.testing.assert_allclose(g[k], want_g[k], rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------- bad input --


def test_nt_xent_bad_inputs():
  z = jnp.ones((4, 3))
  for tau in (0.0, -1.0):
    with pytest.raises(ValueError, match="temperature must be > 0, got"):
      losses.nt_xent(z, z, tau)
  with pytest.raises(ValueError, match="same shape"):
    losses.nt_xent(z, jnp.ones((4, 2)), 0.5)
  with pytest.raises(ValueError, match="2-D"):
    losses.nt_xent(jnp.ones((4,)), jnp.ones((4,)), 0.5)
  with pytest.raises(ValueError, match="2-D"):
    losses.nt_xent(jnp.ones((2, 2, 2)), jnp.ones((2, 2, 2)), 0.5)
  with pytest.raises(ValueError, match="N >= 2"):
    losses.nt_xent(jnp.ones((1, 3)), jnp.ones((1, 3)), 0.5)
