"""FreeMatch: the self-adaptive statistics and thresholds and the fairness term against plain float64 loops; the
fairness term is live in the shared 1 == 4 devices test."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import losses
from ssljax.methods import freematch

from helpers import run_steps, tiny_config


def loop_statistics(stats, probs, decay):
  n, c = probs.shape
  tau = decay * stats["tau"] + (1 - decay) * sum(max(row) for row in probs) / n
  p_model = [decay * stats["p_model"][k] + (1 - decay) * sum(row[k] for row in probs) / n for k in range(c)]
  argmax = [int(np.argmax(row)) for row in probs]
  hist = [decay * stats["label_hist"][k] + (1 - decay) * argmax.count(k) / n for k in range(c)]
  return {"tau": tau, "p_model": p_model, "label_hist": hist}


def loop_fairness(probs, mask, p_model, label_hist):
  """USB's entropy_loss, written out: masked rows, their mean and argmax histogram, both modulated and normalised."""
  rows = [p for p, m in zip(probs, mask) if m]
  if not rows:
    return 0.0
  c = len(p_model)
  mean = [sum(r[k] for r in rows) / len(rows) for k in range(c)]
  hist = [sum(1 for r in rows if int(np.argmax(r)) == k) / len(rows) for k in range(c)]
  scaled = [mean[k] / hist[k] if hist[k] > 0 else 0.0 for k in range(c)]
  target = [p_model[k] / label_hist[k] for k in range(c)]
  return sum(target[k] / sum(target) * math.log(scaled[k] / sum(scaled) + 1e-12) for k in range(c))


def _probs(rng, n, c, scale=2.0):
  return np.asarray(jax.nn.softmax(rng.normal(size=(n, c)) * scale), np.float64)


def test_statistics_start_at_one_over_c_and_match_loop():
  stats = freematch.init_statistics(4)
  np.testing.assert_allclose(stats["tau"], 0.25)
  np.testing.assert_allclose(stats["p_model"], [0.25] * 4)
  np.testing.assert_allclose(stats["label_hist"], [0.25] * 4)
  rng = np.random.default_rng(0)
  with jax.enable_x64(True):
    stats = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), stats)
    expected = {k: np.asarray(v).tolist() for k, v in stats.items()}
    for _ in range(3):
      probs = _probs(rng, 12, 4)
      stats = freematch.update_statistics(stats, jnp.asarray(probs), 0.9)
      expected = loop_statistics(expected, probs, 0.9)
      for key in ("tau", "p_model", "label_hist"):
        np.testing.assert_allclose(stats[key], expected[key], rtol=1e-12)
    thresholds = freematch.class_thresholds(stats)
    p = np.asarray(expected["p_model"])
    np.testing.assert_allclose(thresholds, expected["tau"] * p / p.max(), rtol=1e-12)


def test_fairness_matches_loop():
  rng = np.random.default_rng(1)
  p_model, label_hist = _probs(rng, 1, 5)[0], _probs(rng, 1, 5)[0]
  with jax.enable_x64(True):
    for n, keep in ((16, 0.5), (16, 1.0), (3, 0.7)):
      probs = _probs(rng, n, 5)
      mask = (rng.random(n) < keep).astype(np.float64)
      mask[0] = 1.0  # at least one masked row
      got = losses.freematch_fairness_loss(jnp.asarray(probs), jnp.asarray(mask), p_model, label_hist)
      np.testing.assert_allclose(got, loop_fairness(probs, mask, p_model, label_hist), rtol=1e-10)
    zero = losses.freematch_fairness_loss(jnp.asarray(_probs(rng, 4, 5)), jnp.zeros(4), p_model, label_hist)
    assert float(zero) == 0.0


def test_fairness_gradient_flows_through_the_masked_mean_only():
  rng = np.random.default_rng(2)
  logits = rng.normal(size=(8, 4))
  mask = np.array([1, 0, 1, 1, 0, 1, 0, 1], np.float64)
  p_model, label_hist = _probs(rng, 1, 4)[0], _probs(rng, 1, 4)[0]
  with jax.enable_x64(True):
    f = lambda z: losses.freematch_fairness_loss(jax.nn.softmax(z), jnp.asarray(mask), p_model, label_hist)
    grad = np.asarray(jax.grad(f)(jnp.asarray(logits)))
    assert np.all(grad[mask == 0] == 0.0) and np.any(grad[mask == 1] != 0.0)
    # Central differences of the loop (float64; steps far from any argmax tie, so the histogram stays put).
    eps, numeric = 1e-6, np.zeros_like(logits)
    for i, j in np.ndindex(*logits.shape):
      hi, lo = logits.copy(), logits.copy()
      hi[i, j] += eps
      lo[i, j] -= eps
      as_probs = lambda z: np.asarray(jax.nn.softmax(z))
      numeric[i, j] = (
        loop_fairness(as_probs(hi), mask, p_model, label_hist) - loop_fairness(as_probs(lo), mask, p_model, label_hist)
      ) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, atol=1e-7)


def test_fairness_is_live_in_the_tiny_run():
  """The shared 1 == 4 devices test compares the step with this config: its fairness term must not be 0."""
  _, metrics = run_steps(tiny_config("freematch", dtype="float64"), 1, 3)
  assert all(m["fair_loss"] != 0.0 for m in metrics)
  assert all(m["mask_rate"] > 0.0 for m in metrics)
