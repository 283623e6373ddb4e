"""MixMatch: loss pieces against hand-computed values, 4 devices == 1 device, results.json, bad inputs."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import load_config, read_json, run_steps

from ssljax import losses, train
from ssljax.errors import ConfigError
from ssljax.methods import mixmatch

# lambda_u large and no ramp-up so the unlabelled term moves the parameters from the first step. The 1-vs-4 test
# and the results.json test share these values, so the 4-device step compiles once (persistent compile cache).
TINY = {
  "batch_size": 8,
  "total_steps": 2,
  "checkpoint_every": 2,
  "eval_every": 1000,
  "log_every": 1,
  "model_kwargs.width": 4,
  "lambda_u": 100.0,
  "rampup_steps": 0,
}


def tiny_mixmatch(**overrides):
  return load_config("mixmatch_digits", **{**TINY, **overrides})


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
  np.testing.assert_allclose(mixmatch.mix_lambda(jnp.array([0.1, 0.5, 0.7, 0.0, 1.0])), [0.9, 0.5, 0.7, 1.0, 1.0])
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


def test_four_devices_match_one_device():
  task = mixmatch.build(tiny_mixmatch())
  s1, m1 = run_steps(task, 1, 2)
  s4, m4 = run_steps(task, 4, 2)
  assert m1[0]["unsup_loss"] > 0 and m1[0]["lambda_u"] == 100.0
  for a, b in zip(m1, m4):
    for k in a:
      np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=2e-5, err_msg=k)
  for x, y in ((s1.params, s4.params), (s1.batch_stats, s4.batch_stats), (s1.ema_params, s4.ema_params)):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5), x, y)


def test_results_json(tmp_path, capsys):
  results = train.train_and_evaluate(tiny_mixmatch(), str(tmp_path), mixmatch.build)
  on_disk = read_json(os.path.join(tmp_path, "results.json"))
  assert on_disk == results
  for key in (
    "method",
    "dataset",
    "num_labels",
    "seed",
    "steps",
    "num_devices",
    "test_accuracy",
    "test_accuracy_raw",
    "wall_seconds",
    "model",
    "num_classes",
  ):
    assert key in on_disk, key
  assert on_disk["method"] == "mixmatch" and on_disk["steps"] == 2 and 0.0 <= on_disk["test_accuracy"] <= 1.0
  out = capsys.readouterr().out
  assert all(k in out for k in ("sup_loss", "unsup_loss", "lambda_u", "guess_acc"))


@pytest.mark.parametrize(
  "key, value, needle",
  [
    ("num_augment", 0, "num_augment"),
    ("num_augment", 1.5, "num_augment"),
    ("temperature", 0.0, "temperature"),
    ("temperature", -1.0, "temperature"),
    ("mixup_alpha", 0.0, "mixup_alpha"),
    ("lambda_u", -1.0, "lambda_u"),
    ("lambda_u", float("nan"), "lambda_u"),
    ("rampup_steps", -5, "rampup_steps"),
    ("view", "medium", "view"),
    ("distribution_alignment", 1, "distribution_alignment"),
  ],
)
def test_bad_input(key, value, needle):
  config = tiny_mixmatch()
  with config.ignore_type():
    config[key] = value
  with pytest.raises(ConfigError, match=needle):
    mixmatch.build(config)
