"""Runs that build on other runs: reading a run back, pseudo-labels as data, the pipelines (self-training, Noisy
Student, co-training, distillation with its teacher trained first), resume after SIGKILL, and bad input."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from ssljax import checkpoint, jobs, parallel, train
from ssljax.errors import ConfigError, UserError
from ssljax.methods import common, supervised
from ssljax.pipelines import stages

from helpers import REPO, TINY, _has, load_config, read_json, run_steps, tiny_config, tiny_teacher

LAUNCH = [sys.executable, os.path.join(REPO, "launch.py")]
# Tiny rounds whose pseudo-labels pass the threshold (a 4-step model's top probability is above 1/10 = 0.1).
TINY_ROUNDS = {"pseudo_threshold": 0.05, "per_class": 3}


def tiny_pipeline(name, **overrides):
  rounds = {k: v for k, v in TINY_ROUNDS.items() if k in load_config(f"{name}_digits")}
  return tiny_config(name, live=False, **{**rounds, **overrides})


def tiny_args(name, **overrides):
  config = load_config(f"{name}_digits")
  keys = {k: v for k, v in {**TINY, **TINY_ROUNDS, **overrides}.items() if _has(config, k)}
  return [f"--config.{k}={v}" for k, v in keys.items()]


@contextlib.contextmanager
def no_compiles():
  """Fails if anything is lowered for XLA (a jit, or an eager op) inside the block."""
  lowered = []
  listener = lambda event, duration, **kw: (
    lowered.append(event) if event.endswith("jaxpr_to_mlir_module_duration") else None
  )
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert not lowered, f"{len(lowered)} computations were compiled before the error"


def snapshot(path):
  """Every file under `path` with its size and modification time (None if `path` does not exist)."""
  if not os.path.exists(path):
    return None
  out = {}
  for root, _, files in os.walk(path):
    for f in files:
      p = os.path.join(root, f)
      out[os.path.relpath(p, path)] = (os.path.getsize(p), os.path.getmtime(p))
  return out


def without_wall(results):
  return {k: v for k, v in results.items() if k != "wall_seconds"}


# ---------------------------------------------------------------- a run read back


def test_load_run_reads_back_config_and_latest_checkpoint():
  workdir = tiny_teacher()
  config, task, state = train.load_run(workdir)
  assert config.to_dict() == json.loads(tiny_config("supervised", live=False).to_json_best_effort())
  assert int(state.step) == config.total_steps
  results = read_json(os.path.join(workdir, "results.json"))
  evals = task.evaluate(state, parallel.make_mesh(), workdir, False)
  assert evals["test_accuracy"] == results["test_accuracy"]


def test_load_run_of_no_finished_run_is_one_error_line(tmp_path):
  unfinished = tmp_path / "unfinished"
  shutil.copytree(tiny_teacher(), unfinished)
  os.remove(unfinished / "results.json")
  (tmp_path / "empty").mkdir()
  for path, needle in [
    (tmp_path / "none", "does not exist"),
    (tmp_path / "empty", "no config.json"),
    (unfinished, "no finished run"),
  ]:
    with pytest.raises(UserError, match=needle) as info:
      train.load_run(str(path))
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- pseudo-labels as data


def pseudo_file(path, indices, labels, targets=None):
  stages.write_pseudo_labels(str(path), indices, labels, targets)
  return str(path)


def test_pseudo_labels_join_the_labelled_pool(tmp_path):
  config = tiny_config("supervised", live=False)
  ds, labelled, unlabelled = common.load_split(config)
  x_u, _ = common.unlabelled_arrays(ds, unlabelled)
  x, y, t = common.labelled_pool(config, ds, labelled, unlabelled)
  assert len(x) == len(labelled) and np.array_equal(t, np.eye(10)[y])

  soft = np.full((3, 10), 0.05, np.float32)
  soft[:, 4] = 0.55
  config.pseudo_labels = pseudo_file(tmp_path / "p.npz", [7, 2, 30], [4, 4, 4], soft)
  x, y, t = common.labelled_pool(config, ds, labelled, unlabelled)
  assert np.array_equal(x[len(labelled) :], x_u[[7, 2, 30]]) and list(y[len(labelled) :]) == [4, 4, 4]
  np.testing.assert_array_equal(t[len(labelled) :], soft)

  config.pseudo_labels = pseudo_file(tmp_path / "hard.npz", [5], [9])
  _, y, t = common.labelled_pool(config, ds, labelled, unlabelled)
  assert y[-1] == 9 and np.array_equal(t[-1], np.eye(10)[9])


def _gathered(fn, num_devices):
  """fn(*replicated args) -> this device's rows, run on `num_devices` devices; returns the global rows."""
  every = lambda *a: jax.lax.all_gather(fn(*a), parallel.AXIS, tiled=True, to="invarying")
  return jax.jit(jax.shard_map(every, mesh=parallel.make_mesh(num_devices), in_specs=jax.P(), out_specs=jax.P()))


def test_draw_parts_takes_each_part_from_its_range_and_is_the_same_on_any_device_count():
  draw = lambda key: common.draw_parts(key, [(3, 0, 4), (5, 4, 100)])[0]
  idx, idx2, idx4 = (np.asarray(_gathered(draw, n)(jax.random.key(3))) for n in (1, 2, 4))
  assert idx.shape == (8,) and np.all(idx[:3] < 4) and np.all((idx[3:] >= 4) & (idx[3:] < 100))
  assert np.array_equal(idx2, idx) and np.array_equal(idx4, idx)


@pytest.mark.parametrize("frac", [0.0, 0.5])
def test_labelled_fraction_puts_that_share_of_true_labels_in_every_batch(tmp_path, frac):
  # Every pseudo-label is class 4; the 40 true labels are 4 per class: a batch row from the true labels is another
  # class with probability 9/10, a pseudo-labelled row never.
  config = tiny_config("supervised", live=False, batch_size=64, labelled_fraction=frac)
  config.pseudo_labels = pseudo_file(tmp_path / "p.npz", np.arange(600), np.full(600, 4))
  task = supervised.build(config)
  sample = _gathered(lambda d, key: task.sample(d, key)["y"], 2)
  data = jax.device_put(task.arrays)
  ys = np.stack([np.asarray(sample(data, jax.random.key(s))) for s in range(20)])
  if frac == 0:
    assert np.mean(ys != 4) < 0.1  # 40 of 640 rows hold true labels: ~5.6% of the rows are another class
  else:
    assert 0.8 < np.mean(ys[:, :32] != 4) < 0.98 and np.all(ys[:, 32:] == 4)


def test_labelled_fraction_above_one_is_one_error_line():
  config = tiny_config("supervised", live=False, labelled_fraction=1.5)
  with pytest.raises(ConfigError) as info:
    train.check_config(config, supervised)
  assert "\n" not in str(info.value) and "labelled_fraction" in str(info.value)


@pytest.mark.parametrize(
  "arrays, needle",
  [
    ({"indices": [10**6], "labels": [1]}, "indices must be in"),
    ({"indices": [1], "labels": [10]}, "labels must be in"),
    ({"indices": [1]}, "lacks the arrays labels"),
    ({"indices": [1], "labels": [1], "targets": np.ones((1, 3))}, "targets must have shape"),
  ],
)
def test_bad_pseudo_label_file_is_one_error_line(tmp_path, arrays, needle):
  path = tmp_path / "bad.npz"
  np.savez(path, **arrays)
  config = tiny_config("supervised", live=False, pseudo_labels=str(path))
  with pytest.raises(ConfigError, match=needle) as info:
    common.labelled_pool(config, *common.load_split(config))
  assert "\n" not in str(info.value) and "pseudo_labels" in str(info.value)


def test_a_changed_pseudo_label_file_is_another_run(tmp_path):
  path = pseudo_file(tmp_path / "p.npz", [1, 2], [3, 3])
  config = tiny_config("supervised", live=False, pseudo_labels=path, total_steps=2)
  train.train_and_evaluate(config, str(tmp_path / "w"), supervised)
  os.remove(path)
  pseudo_file(path, [1, 2], [3, 4])
  with pytest.raises(checkpoint.CheckpointMismatchError, match="pseudo_labels"):
    train.train_and_evaluate(tiny_config("supervised", live=False, pseudo_labels=path), str(tmp_path / "w"), supervised)


def test_select_threshold_per_class_and_exclusion():
  probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.95, 0.05], [0.2, 0.8], [0.45, 0.55], [0.7, 0.3]])
  idx, labels = stages.select(probs, 0.6)
  assert list(idx) == [0, 1, 2, 3, 5] and list(labels) == [0, 0, 0, 1, 0]
  idx, labels = stages.select(probs, 0.6, per_class=2)  # the two most confident of class 0: rows 2 and 0
  assert list(idx) == [0, 2, 3] and list(labels) == [0, 0, 1]
  idx, _ = stages.select(probs, 0.6, per_class=2, exclude=np.array([2]))
  assert list(idx) == [0, 3, 5]


def test_continuing_a_run_starts_from_its_evaluated_weights():
  _, _, teacher = train.load_run(tiny_teacher())
  task = supervised.build(tiny_config("supervised", live=False, init_from=tiny_teacher()))
  state = train.init_state(task, 0)
  want = jax.device_get(common.eval_variables(teacher))
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(state.params), want["params"])
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(state.batch_stats), want["batch_stats"])


def test_dropout_draws_the_same_masks_on_one_and_four_devices():
  """float64, as tests/test_methods.py argues; dropout must also change the step."""
  from test_methods import assert_trees_close

  config = tiny_config("supervised", dtype="float64", **{"model_kwargs.dropout": 0.5})
  s1, m1 = run_steps(config, 1, 2)
  s4, m4 = run_steps(config, 4, 2)
  assert_trees_close(s1.params, s4.params, 1e-9, "params")
  s0, _ = run_steps(tiny_config("supervised", dtype="float64"), 1, 2)
  assert not np.allclose(jax.tree.leaves(s0.params)[0], jax.tree.leaves(s1.params)[0])


# ---------------------------------------------------------------- pipelines


def test_noisy_student_trains_students_on_soft_pseudo_labels(tmp_path):
  config = tiny_pipeline("noisy_student", num_rounds=1)
  results = jobs.run(config, str(tmp_path))
  assert [s["name"] for s in results["stages"]] == ["teacher", "student1"]
  with np.load(tmp_path / "pseudo_labels_round1.npz") as f:
    assert f["targets"].shape == (len(f["indices"]), 10) and 0 < len(f["indices"]) <= 30  # at most 3 per class
    np.testing.assert_allclose(f["targets"].sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(f["labels"], f["targets"].argmax(1))
  pl = results["stages"][1]["pseudo_labels"]
  assert pl["accepted"] == sum(pl["per_class"]) and max(pl["per_class"]) <= 3 and 0 <= pl["accuracy"] <= 1
  assert read_json(tmp_path / "stage1_student1" / "config.json")["pseudo_labels"].endswith("pseudo_labels_round1.npz")
  assert results["test_accuracy"] == results["stages"][-1]["test_accuracy"] == results["test_accuracy_student1"]
  assert jobs.run(config, str(tmp_path)) == results  # finished: read back, nothing trained


def test_noisy_student_students_grow_by_width_growth():
  from ssljax.pipelines import noisy_student

  config = tiny_pipeline("noisy_student", width_growth=1.5)
  width = config.model_kwargs.width
  assert noisy_student.student_config(config).model_kwargs.width == width
  assert noisy_student.student_config(config, 2).model_kwargs.width == round(width * 2.25)
  assert "width_growth" not in noisy_student.student_config(config, 1)


def test_co_training_networks_label_data_for_each_other(tmp_path):
  results = jobs.run(tiny_pipeline("co_training", num_rounds=1), str(tmp_path))
  assert [s["name"] for s in results["stages"]] == ["round0_a", "round0_b", "round1_a", "round1_b"]
  for net in "ab":
    with np.load(tmp_path / f"pseudo_labels_round1_{net}.npz") as f:
      assert 0 < len(f["indices"]) <= 30
  assert read_json(tmp_path / "stage2_round1_a" / "config.json")["sup_augment"] == "weak"
  assert read_json(tmp_path / "stage3_round1_b" / "config.json")["sup_augment"] == "strong"
  for key in ("agreement_final", "test_accuracy_combined_round0", "test_accuracy_a", "test_accuracy_b"):
    assert 0 <= results[key] <= 1, key


def test_distill_trains_its_teacher_config_first(tmp_path):
  teacher = tmp_path / "tiny_teacher.py"
  teacher.write_text(
    f"import sys\nsys.path.insert(0, {os.path.join(REPO, 'tests')!r})\nfrom helpers import tiny_config\n\n\n"
    "def get_config():\n  return tiny_config('supervised', live=False)\n"
  )
  config = tiny_config("distill", teacher_workdir="", teacher_config=str(teacher), seed=3)
  results = jobs.run(config, str(tmp_path / "w"))
  assert [s["name"] for s in results["stages"]] == ["teacher", "student"]
  assert read_json(tmp_path / "w" / "stage0_teacher" / "results.json")["seed"] == 3  # the student's seed
  student = read_json(tmp_path / "w" / "stage1_student" / "results.json")
  assert student["teacher_test_accuracy"] == results["teacher_test_accuracy"]
  assert results["test_accuracy"] == student["test_accuracy"]


def _wait_for(path, proc, timeout=600):
  import time

  start = time.time()
  while not os.path.exists(path):
    assert proc.poll() is None, proc.communicate()
    assert time.time() - start < timeout
    time.sleep(0.1)


def test_self_training_killed_at_any_stage_resumes_to_the_same_results(tmp_path):
  args = [
    "--config",
    os.path.join(REPO, "configs", "self_training_digits.py"),
    *tiny_args("self_training", num_rounds=2),
  ]
  ref = subprocess.run(LAUNCH + args + ["--workdir", str(tmp_path / "ref")], capture_output=True, text=True, cwd=REPO)
  assert ref.returncode == 0, ref.stderr[-3000:]
  want = read_json(tmp_path / "ref" / "results.json")
  for stage in want["stages"][1:]:  # a 4-step model predicts few classes: at most 3 each
    assert stage["pseudo_labels"]["added"] > 0 and max(stage["pseudo_labels"]["per_class"]) <= 6

  killed = tmp_path / "killed"
  # Killed inside round 1's training, then between round 2's pseudo-label file and its training.
  for marker in (killed / "stage1_round1" / "checkpoints" / "2", killed / "pseudo_labels_round2.npz"):
    proc = subprocess.Popen(
      LAUNCH + args + ["--workdir", str(killed)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _wait_for(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "results.json").exists()
  done = subprocess.run(LAUNCH + args + ["--workdir", str(killed)], capture_output=True, text=True, cwd=REPO)
  assert done.returncode == 0, done.stderr[-3000:]
  assert without_wall(read_json(killed / "results.json")) == without_wall(want)

  # The same workdir with another selection rule is another pipeline: refused, nothing changed.
  before = snapshot(killed)
  other = subprocess.run(
    LAUNCH + args + ["--workdir", str(killed), "--config.pseudo_threshold=0.5"],
    capture_output=True,
    text=True,
    cwd=REPO,
  )
  assert other.returncode != 0 and "pseudo_threshold" in other.stderr and snapshot(killed) == before


# ---------------------------------------------------------------- bad input


def _fake_teacher(tmp_path, name, **config_changes):
  """A copy of the tiny teacher run with its config.json changed."""
  path = tmp_path / name
  shutil.copytree(tiny_teacher(), path)
  config = read_json(path / "config.json")
  config.update(config_changes)
  (path / "config.json").write_text(json.dumps(config))
  return str(path)


def _bad_cases(tmp_path):
  unfinished = tmp_path / "unfinished"
  shutil.copytree(tiny_teacher(), unfinished)
  os.remove(unfinished / "results.json")
  other = _fake_teacher(tmp_path, "fashion", dataset="fashion_mnist")
  return [
    ("distill", {"teacher_workdir": str(tmp_path / "nothing")}, "does not exist"),
    ("distill", {"teacher_workdir": str(unfinished)}, "no finished run"),
    ("distill", {"teacher_workdir": other}, "fashion_mnist"),
    ("distill", {"model": "no_such_net"}, "config.model"),
    ("noisy_student", {"teacher_workdir": other}, "fashion_mnist"),
    ("noisy_student", {"teacher_workdir": str(unfinished)}, "no finished run"),
    ("noisy_student", {"teacher_config": "no_such_config"}, "teacher_config"),
    ("noisy_student", {"num_rounds": 0}, "config.num_rounds"),
    ("noisy_student", {"width_growth": 0.5}, "config.width_growth"),
    ("self_training", {"num_rounds": 0}, "config.num_rounds"),
    ("self_training", {"pseudo_threshold": 0.0}, "config.pseudo_threshold"),
    ("self_training", {"pseudo_threshold": 1.5}, "config.pseudo_threshold"),
    ("co_training", {"pseudo_threshold": -0.1}, "config.pseudo_threshold"),
    ("co_training", {"num_rounds": 0}, "config.num_rounds"),
  ]


def test_bad_input_is_one_error_line_before_any_compile_and_nothing_changes(tmp_path):
  for name, overrides, needle in _bad_cases(tmp_path):
    config = tiny_pipeline(name, **overrides)
    workdir = tmp_path / f"w_{name}"
    teacher = overrides.get("teacher_workdir") or config.get("teacher_workdir")
    before = snapshot(teacher) if teacher else None
    with no_compiles(), pytest.raises(UserError) as info:
      jobs.run(config, str(workdir))
    message = str(info.value)
    assert needle in message and "\n" not in message, (name, overrides, message)
    assert not workdir.exists(), (name, overrides)
    if teacher:
      assert snapshot(teacher) == before, (name, overrides)


def test_bad_teacher_through_launch_is_one_error_line(tmp_path):
  proc = subprocess.run(
    LAUNCH
    + ["--config", os.path.join(REPO, "configs", "distill_digits.py"), "--workdir", str(tmp_path / "w")]
    + [f"--config.teacher_workdir={tmp_path / 'nothing'}"],
    capture_output=True,
    text=True,
    cwd=REPO,
  )
  lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith(("WARNING", "I0000", "W0000"))]
  assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
  assert "does not exist" in lines[0] and not (tmp_path / "w").exists()


def test_eval_only_on_a_pipeline_is_one_error_line(tmp_path):
  with pytest.raises(ConfigError, match="pipeline") as info:
    jobs.run(tiny_pipeline("self_training"), str(tmp_path / "w"), eval_only=True)
  assert "\n" not in str(info.value) and not (tmp_path / "w").exists()
