"""MixMatch: loss pieces against hand-computed values, the running distribution alignment (1 == 4 devices), bad
values beyond the CHECKS table's own."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_methods import assert_trees_close

from ssljax import losses, mixup, train
from ssljax.errors import ConfigError
from ssljax.methods import mixmatch

from helpers import run_steps, tiny_config


def test_sharpen_hand_computed():
  p = jnp.array([[0.6, 0.3, 0.1], [0.5, 0.5, 0.0]])
  got = jax.jit(losses.sharpen, static_argnums=1)(p, 0.5)
  # T = 0.5: p² / Σ p²  ->  [0.36, 0.09, 0.01] / 0.46 ; [0.25, 0.25, 0] / 0.5
  np.testing.assert_allclose(got, [[0.36 / 0.46, 0.09 / 0.46, 0.01 / 0.46], [0.5, 0.5, 0.0]], rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(losses.sharpen(p, 1.0), p, rtol=1e-6, atol=1e-7)  # T = 1: unchanged
  assert np.argmax(losses.sharpen(p[:1], 0.01)) == 0 and losses.sharpen(p[:1], 0.01)[0, 0] > 0.999  # T → 0: one-hot


def test_distribution_alignment_hand_computed():
  q = jnp.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
  marginal = jnp.array([0.5, 0.25, 0.25])
  # q · (1/3) / p̃, renormalised: [1.2, 1.2, 0.4] / 2.8 and [0.4, 0.8, 2.4] / 3.6
  got = losses.distribution_alignment(q, marginal)
  np.testing.assert_allclose(got, [[1.2 / 2.8, 1.2 / 2.8, 0.4 / 2.8], [0.4 / 3.6, 0.8 / 3.6, 2.4 / 3.6]], rtol=1e-6)
  np.testing.assert_allclose(losses.distribution_alignment(q, jnp.full((3,), 1 / 3)), q, rtol=1e-6)  # already uniform
  # An explicit target marginal p(y): aligning to p̃ itself changes nothing.
  np.testing.assert_allclose(losses.distribution_alignment(q, marginal, marginal), q, rtol=1e-6)


def test_mix_lambda_and_rampup():
  np.testing.assert_allclose(mixup.keep_larger(jnp.array([0.1, 0.5, 0.7, 0.0, 1.0])), [0.9, 0.5, 0.7, 1.0, 1.0])
  np.testing.assert_allclose([mixmatch.rampup(s, 100) for s in (0, 25, 100, 300)], [0.0, 0.25, 1.0, 1.0])
  assert mixmatch.rampup(0, 0) == 1.0


def test_mixmatch_loss_hand_computed():
  logits_x = jnp.array([[0.0, np.log(3.0)]])  # softmax [0.25, 0.75]
  target_x = jnp.array([[0.5, 0.5]])
  logits_u = jnp.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # softmax [0.5, 0.5], [0.75, 0.25]
  target_u = jnp.array([[1.0, 0.0], [0.75, 0.25]])
  l_x, l_u = losses.mixmatch_loss(logits_x, target_x, logits_u, target_u)
  np.testing.assert_allclose(l_x, -(0.5 * np.log(0.25) + 0.5 * np.log(0.75)), rtol=1e-6)
  # 1/(L·|U'|) Σ ‖q − p‖² = (0.25 + 0.25 + 0 + 0) / (2 · 2)
  np.testing.assert_allclose(l_u, 0.125, rtol=1e-6)


def test_running_marginal_is_the_mean_of_the_last_window_steps():
  state = {"window": jnp.zeros((3, 2)), "count": jnp.zeros((), jnp.int32)}
  means = [jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), jnp.array([0.5, 0.5]), jnp.array([0.2, 0.8])]
  got = []
  for m in means:
    marginal, state = mixmatch.running_marginal(state, m)
    got.append(np.asarray(marginal))
  np.testing.assert_allclose(got[0], [1.0, 0.0])  # only the filled entries count
  np.testing.assert_allclose(got[1], [0.5, 0.5])
  np.testing.assert_allclose(got[2], [0.5, 0.5])
  np.testing.assert_allclose(got[3], [(0.0 + 0.5 + 0.2) / 3, (1.0 + 0.5 + 0.8) / 3], rtol=1e-6)  # the first fell out
  assert int(state["count"]) == 4


def test_running_alignment_four_devices_match_one_device():
  """The running marginal is a global-batch statistic: the same window on 1 and 4 devices (float64, see
  tests/test_methods.py for the tolerance)."""
  config = tiny_config("mixmatch", dtype="float64", distribution_alignment="running")
  s1, m1 = run_steps(config, 1, 3)
  s4, m4 = run_steps(config, 4, 3)
  assert int(s1.method_state["count"]) == 3
  assert_trees_close(s1.method_state, s4.method_state, 1e-9, "method_state")
  assert_trees_close(s1.params, s4.params, 1e-9, "params")
  for a, b in zip(m1, m4):
    assert_trees_close(a, b, 1e-9, "metrics")


@pytest.mark.parametrize(
  "key, value",
  [("num_augment", 1.5), ("lambda_u", float("nan")), ("temperature", -1.0), ("distribution_alignment", True)],
)
def test_more_bad_values(key, value):
  config = tiny_config("mixmatch")
  with config.ignore_type():
    config[key] = value
  with pytest.raises(ConfigError, match=f"config.{key}"):
    train.check_config(config, mixmatch)
