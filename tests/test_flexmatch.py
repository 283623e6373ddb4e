"""FlexMatch: the learning status, learning effects and class thresholds against plain loops, and 1 == 4 devices with
a threshold that both masks and passes examples."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_methods import assert_trees_close

from ssljax import losses, methods
from ssljax.methods import flexmatch

from helpers import run_steps, tiny_config


def loop_learning_effect(selected, num_classes, warmup):
  sigma = [sum(1 for s in selected if s == c) for c in range(num_classes)]
  unused = sum(1 for s in selected if s == -1)
  top = max(max(sigma), unused) if warmup else max(sigma)
  return [s / top if top else 0.0 for s in sigma]


@pytest.mark.parametrize("warmup", [True, False])
def test_learning_effect_matches_loop(warmup):
  rng = np.random.default_rng(0)
  for selected in (rng.integers(-1, 4, 50), np.full(50, -1), np.r_[np.full(40, -1), rng.integers(0, 4, 10)]):
    got = flexmatch.learning_effect(jnp.asarray(selected, jnp.int32), 4, warmup)
    np.testing.assert_allclose(got, loop_learning_effect(selected.tolist(), 4, warmup), rtol=1e-6)


def test_update_status_matches_loop_with_repeated_indices():
  rng = np.random.default_rng(1)
  selected = rng.integers(-1, 5, 30)
  idx, pseudo, confident = rng.integers(0, 30, 40), rng.integers(0, 5, 40), rng.random(40) < 0.6
  expected = selected.copy()
  for i, p, c in zip(idx, pseudo, confident):  # in batch order: the last confident entry of an index wins
    if c:
      expected[i] = p
  got = flexmatch.update_status(jnp.asarray(selected, jnp.int32), jnp.asarray(idx), jnp.asarray(pseudo), confident)
  np.testing.assert_array_equal(got, expected)


def test_thresholds_convex_and_linear():
  beta = np.array([0.0, 0.25, 0.5, 1.0])
  np.testing.assert_allclose(losses.flexmatch_thresholds(beta, 0.95), [0.95 * b / (2 - b) for b in beta], rtol=1e-6)
  np.testing.assert_allclose(losses.flexmatch_thresholds(beta, 0.95, "linear"), 0.95 * beta, rtol=1e-6)
  with pytest.raises(ValueError, match="mapping"):
    losses.flexmatch_thresholds(beta, 0.95, "cubic")


def test_weighted_pseudo_label_loss_matches_loop():
  rng = np.random.default_rng(2)
  logits, pseudo, w = rng.normal(size=(6, 4)), rng.integers(0, 4, 6), rng.random(6)
  expected = np.mean([w[b] * -(logits[b, pseudo[b]] - np.log(np.sum(np.exp(logits[b])))) for b in range(6)])
  got = losses.weighted_pseudo_label_loss(logits.astype(np.float32), pseudo, w.astype(np.float32))
  np.testing.assert_allclose(got, expected, rtol=1e-5)  # one mean of 6 terms in float32


def test_partial_mask_four_devices_match_one_device():
  """A skewed learning status whose class thresholds (0.05 to 0.9) straddle the tiny model's confidences: some
  examples masked, some passing; the same steps on 1 and 4 devices (float64; tolerance as tests/test_methods.py).
  The shared test (tests/test_methods.py) covers the status update itself, with every example confident."""
  config = tiny_config("flexmatch", dtype="float64", threshold=0.9, threshold_warmup=False)
  with jax.enable_x64(True):
    task = methods.get("flexmatch").build(config)
    pool = task.arrays["x_u"].shape[0]
    rng = np.random.default_rng(0)
    status = np.where(rng.random(pool) < 0.2, -1, rng.choice(10, pool, p=np.arange(1, 11) / 55))
    task = dataclasses.replace(task, init_method_state=lambda v: {"selected": jnp.asarray(status, jnp.int32)})
    s1, m1 = run_steps(task, 1, 3)
    s4, m4 = run_steps(task, 4, 3)
  assert any(0 < m["mask_rate"] < 1 for m in m1), [m["mask_rate"] for m in m1]
  np.testing.assert_array_equal(s1.method_state["selected"], s4.method_state["selected"])
  assert_trees_close(s1.params, s4.params, 1e-9, "params")
  for a, b in zip(m1, m4):
    assert_trees_close(a, b, 1e-9, "metrics")
