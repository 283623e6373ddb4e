"""The tests every registered training method gets by being registered (ssljax.methods.METHODS).

- 1 device == 4 devices: the same global batch gives the same step. Compared in float64 (dtype='float64', JAX's
  x64 mode), where the only difference between the runs is summation order: relative errors of order 1e-15 per
  operation, so a few steps agree to far better than 1e-9 of each tensor's scale, on any CPU. A float32 run would
  differ at 1e-6 and could flip near-tied argmaxes and thresholds; in float64 a flip needs two values within ~1e-15 of
  each other, which random data does not produce. An algorithmic difference (a gradient scaled by the device count,
  statistics taken per device instead of over the global batch) is an O(1) relative error.
- resume: losing the last checkpoint and rerunning gives bit-identical state and the same results.json (float64 too,
  so that this test reuses the programs compiled for the one above).
- results.json carries the common keys.
- every key of the method's CHECKS table rejects its bad value with one ConfigError line naming the key.
"""

import glob
import os
import shutil

import jax
import numpy as np
import pytest

from ssljax import checkpoint, checks, methods, train
from ssljax.errors import ConfigError

from helpers import assert_picture, read_json, run_steps, tiny_config

METHODS = sorted(methods.METHODS)
RESULT_KEYS = ("method", "dataset", "num_labels", "seed", "steps", "num_devices", "wall_seconds")


# A tensor that is exactly zero in exact arithmetic (a bias that a following BatchNorm or standardisation cancels, so
# it never gets a gradient; the running mean of a BatchNorm fed zero-mean inputs) holds only float64 rounding noise,
# ~1e-16 per operation on O(1) activations, different on 1 and N devices; its "scale" is that noise. ABS_TOL, 100
# ulps of 1, compares such tensors; an algorithmic difference in any tensor of scale > 1e-5 still exceeds it.
ABS_TOL = 1e-14


def assert_trees_close(a, b, rtol, what):
  """Every leaf of b within rtol of a, relative to the leaf's scale (max |a|), so near-zero entries are judged on the
  scale of their tensor rather than their own tiny magnitude, plus ABS_TOL for tensors that are rounding noise
  throughout. Integer leaves must be equal."""

  def check(path, x, y):
    x, y = np.asarray(x), np.asarray(y)
    name = what + jax.tree_util.keystr(path)
    if not np.issubdtype(x.dtype, np.floating):
      np.testing.assert_array_equal(x, y, err_msg=name)
    elif x.size:
      scale = max(float(np.max(np.abs(x))), 1e-30)
      err = float(np.max(np.abs(x - y)))
      assert err <= rtol * scale + ABS_TOL, f"{name}: max diff {err:.3g} vs scale {scale:.3g}"

  jax.tree_util.tree_map_with_path(check, a, b)


def assert_state_moved(before, after):
  moved = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(before.params), jax.tree.leaves(after.params))]
  assert any(moved), "no parameter changed: a step that does nothing would match trivially"


# Adam-type optimisers scale each entry's update by 1/(|g| + eps), so an entry whose gradient is zero in exact
# arithmetic (in jigsaw's tiny run, one channel of an encoder BatchNorm bias: |g| ~ 1e-16, rounding noise) moves by
# about lr·g/eps — its noise times lr/eps ~ 2e5, different on 1 and 4 devices and above ABS_TOL. SGD moves it by
# lr·g, far below. The optimiser is elementwise on replicated state (no collective), and AdamW's 1 == 4 is tested by
# the methods whose configs use it (inpainting, denoising, deblurring, the text tasks).
EXACT_OVERRIDES = {"jigsaw": {"optimizer": "sgd", "lr": 0.1}}


def tiny_exact(method, **overrides):
  """The float64 tiny config both tests below use: the same programs, so the second test hits the compile cache."""
  return tiny_config(method, dtype="float64", **{**EXACT_OVERRIDES.get(method, {}), **overrides})


@pytest.mark.parametrize("method", METHODS)
def test_four_devices_match_one_device(method):
  config = tiny_exact(method)
  s0, _ = run_steps(config, 1, 0)
  s1, m1 = run_steps(config, 1, 3)
  s4, m4 = run_steps(config, 4, 3)
  assert np.asarray(jax.tree.leaves(s1.params)[0]).dtype == np.float64
  for a, b in zip(m1, m4):
    assert_trees_close(a, b, 1e-9, "metrics")
  for field in ("params", "batch_stats", "ema_params", "method_state", "opt_state"):
    assert_trees_close(getattr(s1, field), getattr(s4, field), 1e-9, field)
  assert_state_moved(s0, s1)


def _restore(workdir, config):
  with train.precision(config):
    task = methods.get(config.method).build(config)
    like = train.init_state(task, config.seed, ema=bool(config.get("ema_decay")))
    ckpts = checkpoint.Checkpoints(os.path.join(workdir, "checkpoints"), config)
    state = ckpts.restore(ckpts.latest_step(), like)
    ckpts.close()
    return checkpoint.to_host(state)


@pytest.mark.parametrize("method", METHODS)
def test_resume_is_bit_exact_and_results_have_common_keys(method, tmp_path):
  config = tiny_exact(method, num_devices=4)
  module = methods.get(method)
  a, b = str(tmp_path / "a"), str(tmp_path / "b")
  results = train.train_and_evaluate(config, a, module)
  on_disk = read_json(os.path.join(a, "results.json"))
  assert on_disk == results
  for key in RESULT_KEYS:
    assert key in on_disk, key
  assert on_disk["method"] == method and on_disk["steps"] == 4 and on_disk["num_devices"] == 4
  pictures = sorted(glob.glob(os.path.join(a, "*.png")))
  assert os.path.join(a, "curves.png") in pictures
  for path in pictures:  # curves.png for every run; tsne.png and reconstructions where the method draws them
    assert_picture(path, (100, 100))

  shutil.copytree(a, b)
  shutil.rmtree(os.path.join(b, "checkpoints", "4"))
  os.remove(os.path.join(b, "results.json"))
  resumed = train.train_and_evaluate(config, b, module)
  assert resumed["resumed_from_step"] == 2
  for key, value in results.items():
    if key != "wall_seconds":
      assert resumed[key] == value, key
  jax.tree.map(np.testing.assert_array_equal, _restore(a, config), _restore(b, config))


def _bad_cases():
  for method in METHODS:
    for key, check in getattr(methods.get(method), "CHECKS", {}).items():
      yield pytest.param(method, key, check.bad, id=f"{method}-{key}")


@pytest.mark.parametrize("method, key, value", list(_bad_cases()))
def test_bad_config_value_is_one_error_line(method, key, value):
  config = tiny_config(method)
  target = config
  *parents, leaf = key.split(".")
  for p in parents:
    target = target[p]
  with target.ignore_type():
    target[leaf] = value
  with pytest.raises(ConfigError) as info:
    train.check_config(config, methods.get(method))
  message = str(info.value)
  assert "\n" not in message and f"config.{key}" in message, message


@pytest.mark.parametrize("method", METHODS)
def test_method_declares_checks_and_its_digits_config_passes_them(method):
  module = methods.get(method)
  assert getattr(module, "CHECKS", None), f"{method} declares no CHECKS"
  for key, check in module.CHECKS.items():
    assert isinstance(check, checks.Check), key
  train.check_config(tiny_config(method), module)


def test_tasks_say_which_forwards_have_no_backward():
  """The step's model FLOPs (benchmarks/train_step.py) come from the Task's own counts, not from method names."""
  counts = {}
  for method in ("fixmatch", "mixmatch", "mean_teacher", "byol"):
    config = tiny_config(method)
    task = methods.get(method).build(config)
    counts[method] = (config, task)
  config, task = counts["fixmatch"]
  b, mu = config.batch_size, config.mu
  assert task.images_per_step == b * (1 + 2 * mu) and task.flop_images == 3 * task.images_per_step
  config, task = counts["mixmatch"]
  b, k = config.batch_size, config.num_augment
  assert task.images_per_step == b * (1 + 2 * k) and task.flop_images == 3 * b * (1 + k) + b * k
  config, task = counts["mean_teacher"]
  b, mu = config.batch_size, config.mu
  assert task.images_per_step == b * (1 + 2 * mu) and task.flop_images == 3 * b * (1 + mu) + b * mu
  config, task = counts["byol"]
  assert task.images_per_step == 2 * config.batch_size and task.flop_images == 4 * task.images_per_step
