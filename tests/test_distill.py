"""Knowledge distillation: the loss against a float64 loop, the frozen teacher, the teacher read from its run."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import losses, train
from ssljax.errors import ConfigError
from ssljax.methods import common, distill

from helpers import run_steps, tiny_config


def loop_distillation(student, teacher, temperature):
  """T² · Σ_c p_c (log p_c − log q_c), p = softmax(teacher/T), q = softmax(student/T), one example at a time."""
  out = []
  for s, t in zip(student.astype(np.float64), teacher.astype(np.float64)):
    zt = [math.exp(v / temperature) for v in t]
    zs = [math.exp(v / temperature) for v in s]
    p = [v / sum(zt) for v in zt]
    q = [v / sum(zs) for v in zs]
    out.append(temperature**2 * sum(pc * (math.log(pc) - math.log(qc)) for pc, qc in zip(p, q)))
  return np.array(out)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_distillation_matches_float64_loop(temperature):
  """In float64 each value is a sum of 7 terms, each exact to ~1e-16 relative; random logits of scale 3 keep every
  KL far from 0 (>1e-3), so 1e-10 relative is loose."""
  rng = np.random.default_rng(0)
  student, teacher = 3 * rng.normal(size=(2, 6, 7))
  with jax.enable_x64(True):
    got = jax.jit(losses.distillation, static_argnums=2)(student, teacher, temperature)
    want = loop_distillation(student, teacher, temperature)
    assert want.min() > 1e-3
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    assert np.allclose(losses.distillation(teacher, teacher, temperature), 0.0, atol=1e-12)


def test_distillation_holds_the_teacher_fixed():
  rng = np.random.default_rng(1)
  student, teacher = jnp.asarray(rng.normal(size=(2, 4, 5)), jnp.float32)
  g_s, g_t = jax.grad(lambda s, t: losses.distillation(s, t, 2.0).sum(), argnums=(0, 1))(student, teacher)
  assert np.abs(np.asarray(g_s)).max() > 0 and np.all(np.asarray(g_t) == 0)


def test_teacher_is_frozen_in_the_method_state_and_read_from_its_run():
  config = tiny_config("distill")
  _, _, teacher_state = train.load_run(config.teacher_workdir)
  want = jax.device_get(common.eval_variables(teacher_state))
  state, metrics = run_steps(config, 1, 2)
  jax.tree.map(np.testing.assert_array_equal, state.method_state, want)
  assert metrics[-1]["kd_loss"] > 0


def test_distill_without_a_teacher_run_is_one_error_line():
  config = tiny_config("distill", teacher_workdir="")
  with pytest.raises(ConfigError, match="teacher_workdir") as info:
    distill.build(config)
  assert "\n" not in str(info.value)
