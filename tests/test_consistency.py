"""Π-model, Mean Teacher, Pseudo-Label, entropy minimisation, VAT and UDA: their losses against float64 numpy loops,
the ramp-ups, the teacher's moving average, VAT's power iteration and frozen BatchNorm statistics, bad values.

Single float32 losses are compared with float64 references at rtol 1e-5: each is a sum over at most a few dozen
terms, whose float32 rounding is below ~30 · 6e-8 ≈ 2e-6 relative.
"""

import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import losses, methods, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, mean_teacher, vat

from helpers import REPO, run_steps, softmax64, tiny_config


def _logits(b=5, c=4, seed=0, scale=2.0):
  return (scale * np.random.default_rng(seed).normal(size=(b, c))).astype(np.float32)


# ---------------------------------------------------------------- losses


def test_entropy_matches_loop():
  z = _logits()
  want = [-sum(p * math.log(p) for p in row) for row in softmax64(z)]
  np.testing.assert_allclose(jax.jit(losses.entropy)(z), want, rtol=1e-5)
  assert float(losses.entropy(jnp.array([[100.0, 0.0, 0.0]]))[0]) < 1e-30 + 1e-6  # one-hot: no entropy
  np.testing.assert_allclose(losses.entropy(jnp.zeros((1, 4))), [math.log(4)], rtol=1e-6)  # uniform: log C


def test_kl_divergence_matches_loop_and_zero_targets():
  z = _logits(seed=1)
  q = softmax64(_logits(seed=2)).astype(np.float32)
  q[0] = [1.0, 0.0, 0.0, 0.0]  # 0 · log 0 = 0
  p = softmax64(z)
  want = [sum(qc * (math.log(qc) - math.log(pc)) for qc, pc in zip(qr, pr) if qc > 0) for qr, pr in zip(q, p)]
  np.testing.assert_allclose(jax.jit(losses.kl_divergence)(q, z), want, rtol=1e-5)
  np.testing.assert_allclose(losses.kl_divergence(jax.nn.softmax(z), z), 0.0, atol=1e-6)  # KL(p ‖ p) = 0


def test_softmax_mse_matches_loop():
  z, q = _logits(seed=3), softmax64(_logits(seed=4)).astype(np.float32)
  p = softmax64(z)
  want = [sum((pc - qc) ** 2 for pc, qc in zip(pr, qr)) / len(pr) for pr, qr in zip(p, q)]
  np.testing.assert_allclose(jax.jit(losses.softmax_mse)(z, q), want, rtol=1e-5)


def test_uda_loss_matches_loop_masks_and_stops_gradient():
  weak = np.array([[4.0, 0.0, 0.0], [0.3, 0.0, 0.1], [0.0, 0.0, 5.0]], np.float32)  # p_max 0.96, 0.39, 0.99
  strong = _logits(3, 3, seed=5)
  t, beta = 0.4, 0.8
  got, mask, pseudo = jax.jit(losses.uda_loss, static_argnums=(2, 3))(weak, strong, t, beta)
  p_weak, p_strong = softmax64(weak), softmax64(strong)
  total = 0.0
  for b in range(3):
    if p_weak[b].max() >= beta:  # the mask is on the unsharpened prediction
      q = softmax64(weak[b] / t)
      total += sum(qc * (math.log(qc) - math.log(pc)) for qc, pc in zip(q, p_strong[b]))
  np.testing.assert_allclose(got, total / 3, rtol=1e-5)
  np.testing.assert_array_equal(mask, [1.0, 0.0, 1.0])
  np.testing.assert_array_equal(pseudo, [0, 0, 2])
  g = jax.grad(lambda w: losses.uda_loss(w, strong, t, beta)[0])(jnp.asarray(weak))
  np.testing.assert_array_equal(g, 0.0)  # no gradient through the target


# ---------------------------------------------------------------- shared pieces


def test_rampups():
  steps = [0, 25, 50, 100, 300]
  np.testing.assert_allclose([common.rampup(s, 100) for s in steps], [0.0, 0.25, 0.5, 1.0, 1.0], rtol=1e-6)
  want = [math.exp(-5 * (1 - min(s / 100, 1)) ** 2) for s in steps]
  np.testing.assert_allclose([common.rampup(s, 100, "sigmoid") for s in steps], want, rtol=1e-6)
  assert common.rampup(0, 0) == 1.0 and common.rampup(0, 0, "sigmoid") == 1.0
  with pytest.raises(ValueError, match="ramp-up"):
    common.rampup(0, 10, "cosine")


def test_entropy_term_off_and_on():
  z = _logits(seed=6)
  config = tiny_config("fixmatch", live=False)
  assert config.entropy_weight == 0.0
  assert common.entropy_term(config, z) == (0.0, {})  # off: nothing is computed
  config.entropy_weight = 0.5
  term, metrics = common.entropy_term(config, z, scale=0.5)
  h = np.mean([-sum(p * math.log(p) for p in row) for row in softmax64(z)])
  np.testing.assert_allclose(metrics["entropy"], h, rtol=1e-5)
  np.testing.assert_allclose(term, 0.25 * h, rtol=1e-5)


# ---------------------------------------------------------------- Mean Teacher


def test_teacher_decay_warms_up():
  np.testing.assert_allclose(
    [mean_teacher.teacher_decay(t, 0.99) for t in (1, 2, 9, 99, 10**5)], [0.5, 2 / 3, 0.9, 0.99, 0.99], rtol=1e-6
  )


def test_teacher_is_the_moving_average_of_the_students():
  """After step t the teacher is α_t·teacher + (1 − α_t)·params_t, α_t = min(1 − 1/(t+1), decay); decay 0.6 takes
  both branches (α_1 = 0.5, α_2 = 0.6). Float64, so the float64 numpy recursion matches to rounding."""
  config = tiny_config("mean_teacher", dtype="float64", teacher_decay=0.6)
  with train.precision(config):
    task = methods.get("mean_teacher").build(config)
    mesh = parallel.make_mesh(1)
    state = train.init_state(task, seed=config.seed, mesh=mesh, ema=True)
    data = parallel.put_replicated(task.arrays, mesh)
    step = train.make_step(task, mesh, ema_decay=config.ema_decay, donate=False)
    expected = jax.device_get(state.params)
    np.testing.assert_equal(jax.device_get(state.method_state["teacher"]), expected)
    for alpha in (0.5, 0.6):
      state, _ = step(state, data)
      params = jax.device_get(state.params)
      expected = jax.tree.map(lambda t, p, a=alpha: a * t + (1 - a) * p, expected, params)
      jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15),
        jax.device_get(state.method_state["teacher"]),
        expected,
      )
    assert not np.allclose(jax.tree.leaves(expected)[0], jax.tree.leaves(params)[0])  # the teacher lags


# ---------------------------------------------------------------- VAT


def test_power_iteration_is_the_hessian_power_method():
  """For logits = (x + r) W the Hessian of KL(p ‖ p(x + r)) at r = 0 is H_b = W (diag p_b − p_b p_bᵀ) Wᵀ and the
  finite difference at ξ gives H_b d + O(ξ): k iterations give unit(H_b^k d). Float64: the O(ξ) term (1e-6 relative)
  and the rounding amplified by 1/ξ (1e-16/ξ = 1e-10) are both far below rtol 1e-4."""
  rng = np.random.default_rng(7)
  b, dim, c = 3, 6, 4
  x, w, d = rng.normal(size=(b, dim)), rng.normal(size=(dim, c)), rng.normal(size=(b, dim))
  p = softmax64(x @ w)
  with jax.enable_x64(True):
    for k in (1, 3):
      got = vat.adversarial_direction(lambda r: (jnp.asarray(x) + r) @ jnp.asarray(w), jnp.asarray(p), d, 1e-6, k)
      for i in range(b):
        h = w @ (np.diag(p[i]) - np.outer(p[i], p[i])) @ w.T
        v = d[i]
        for _ in range(k):
          v = h @ v
        np.testing.assert_allclose(got[i], v / np.linalg.norm(v), rtol=1e-4, atol=1e-8)
  np.testing.assert_allclose(np.linalg.norm(vat.unit(jnp.ones((2, 3, 3, 1))), axis=(1, 2)), 1.0, rtol=1e-6)


def test_vat_perturbed_forwards_leave_batchnorm_statistics_alone():
  """The running statistics after a step come from the clean forward only: they do not depend on ε, the parameters
  do (the LDS term moves them). Same program inputs but ε, so the clean forward is bit-identical."""
  small, _ = run_steps(tiny_config("vat", dtype="float64", vat_eps=1e-3), 1, 1)
  large, _ = run_steps(tiny_config("vat", dtype="float64", vat_eps=30.0), 1, 1)
  jax.tree.map(np.testing.assert_array_equal, small.batch_stats, large.batch_stats)
  assert not np.allclose(jax.tree.leaves(small.params)[0], jax.tree.leaves(large.params)[0])


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
  "method, key, value",
  [
    ("pseudo_label", "threshold", 0.0),
    ("pseudo_label", "threshold", 1.5),
    ("uda", "threshold", -0.2),
    ("uda", "temperature", 0.0),
    ("uda", "temperature", -1.0),
    ("uda", "mu", 0),
    ("pi_model", "lambda_u", -1.0),
    ("pi_model", "rampup_shape", "cosine"),
    ("mean_teacher", "teacher_decay", 1.0),
    ("mean_teacher", "teacher_decay", -0.1),
    ("mean_teacher", "lambda_u", float("nan")),
    ("vat", "vat_eps", 0.0),
    ("vat", "vat_xi", -1e-6),
    ("vat", "power_iterations", 0),
    ("entropy_min", "entropy_weight", 0.0),
    ("fixmatch", "entropy_weight", -0.1),
    ("supervised", "entropy_weight", -1.0),
  ],
)
def test_more_bad_values(method, key, value):
  config = tiny_config(method)
  with config.ignore_type():
    config[key] = value
  with pytest.raises(ConfigError, match=f"config.{key}") as info:
    train.check_config(config, methods.get(method))
  assert "\n" not in str(info.value)


def test_bad_value_from_the_command_line_is_one_error_line(tmp_path):
  import subprocess

  workdir = tmp_path / "w"
  cmd = [sys.executable, os.path.join(REPO, "launch.py"), "--config", os.path.join(REPO, "configs", "uda_digits.py")]
  proc = subprocess.run(
    cmd + ["--workdir", str(workdir), "--config.temperature=0"], capture_output=True, text=True, timeout=300, cwd=REPO
  )
  lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith(("WARNING", "I0000", "W0000"))]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr
  assert lines[0].startswith("error: config.temperature must be") and "> 0" in lines[0], lines[0]
  assert not workdir.exists()  # refused before the workdir is touched
