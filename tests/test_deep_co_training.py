"""Deep Co-Training: the agreement loss against a float64 loop; the two networks and their evaluation."""

import math

import jax
import numpy as np

from ssljax import losses

from helpers import run_steps, tiny_config


def loop_jensen_shannon(a, b):
  """H(½(p + q)) − ½(H(p) + H(q)), one example at a time."""

  def softmax(z):
    e = [math.exp(v) for v in z]
    return [v / sum(e) for v in e]

  def entropy(p):
    return -sum(v * math.log(v) for v in p if v > 0)

  out = []
  for za, zb in zip(a.astype(np.float64), b.astype(np.float64)):
    p, q = softmax(za), softmax(zb)
    out.append(entropy([(x + y) / 2 for x, y in zip(p, q)]) - (entropy(p) + entropy(q)) / 2)
  return np.array(out)


def test_jensen_shannon_matches_float64_loop():
  """float64 sums of 6 terms (~1e-16 relative each); random logits of scale 2 keep every value above 1e-3."""
  rng = np.random.default_rng(0)
  a, b = 2 * rng.normal(size=(2, 8, 6))
  with jax.enable_x64(True):
    got = np.asarray(jax.jit(losses.jensen_shannon)(a, b))
    want = loop_jensen_shannon(a, b)
    assert want.min() > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(losses.jensen_shannon(a, a)), 0.0, atol=1e-12)
    assert np.all(want <= math.log(2) + 1e-12)  # JS is bounded by log 2


def test_two_networks_start_different_and_every_term_is_live():
  state, metrics = run_steps(tiny_config("deep_co_training"), 1, 2)
  a, b = (jax.tree.leaves(state.params["net_" + k]) for k in "ab")
  assert any(not np.allclose(x, y) for x, y in zip(a, b))
  for key in ("sup_loss", "cot_loss", "dif_loss"):
    assert metrics[0][key] > 0, key
