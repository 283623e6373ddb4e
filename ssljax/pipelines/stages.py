"""What the pipelines share: stage configs, stages run (and resumed) in their own subdirectories, a finished run's
predictions computed on device, pseudo-label selection and files, and the pipeline's results.json.

A stage is an ordinary `train.train_and_evaluate` run in `workdir/stage{i}_{name}`: it resumes from its own
checkpoints and is never trained again once its results.json exists. Whatever a stage hands to the next (a
pseudo-label file) is written atomically and only once, so a pipeline killed at any moment and started again with
the same command ends with the same results.
"""

import copy
import importlib.resources
import importlib.util
import json
import os

import jax
import ml_collections
import numpy as np

from ssljax import checkpoint, methods, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common

# Keys a pipeline passes on to a teacher trained from teacher_config: what the teacher and the pupils must share.
SHARED_WITH_TEACHER = (
  "seed",
  "num_labels",
  "dataset",
  "data_dir",
  "image_size",
  "allow_flip",
  "on_bad_image",
  "num_devices",
  "dtype",
)
# Keys that may change between invocations of one pipeline workdir (more rounds continue it; logging and devices do
# not change the results).
RESUMABLE_KEYS = (
  "num_rounds",
  "eval_every",
  "checkpoint_every",
  "log_every",
  "keep_checkpoints",
  "num_devices",
  "data_dir",
)


def stage_dir(workdir: str, index: int, name: str) -> str:
  return os.path.join(workdir, f"stage{index}_{name}")


def stage_config(config, drop=(), **overrides):
  """A copy of `config` without the keys in `drop`, with `overrides` (dotted keys for nested values)."""
  out = ml_collections.ConfigDict(copy.deepcopy(config.to_dict()))
  for key in drop:
    if key in out:
      del out[key]
  for key, value in overrides.items():
    *parents, leaf = key.split(".")
    target = out
    for p in parents:
      target = target[p]
    target[leaf] = value
  return out


def config_file(name: str) -> str:
  """A config by path, or by name among the configs that ship with ssljax."""
  if os.path.isfile(name):
    return name
  stem = name[:-3] if name.endswith(".py") else name
  shipped = importlib.resources.files("ssljax.configs") / f"{os.path.basename(stem)}.py"
  if os.sep not in stem and shipped.is_file():
    return str(shipped)
  raise ConfigError(f"config.teacher_config={name!r} is neither a config file nor a config that ships with ssljax")


def load_config_file(name: str):
  path = config_file(name)
  spec = importlib.util.spec_from_file_location(f"ssljax_teacher_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def teacher_stage_config(config):
  """config.teacher_config's config with this config's seed, labels and dataset (SHARED_WITH_TEACHER), checked."""
  teacher = load_config_file(config.teacher_config)
  teacher = stage_config(teacher, **{k: config.get(k) for k in SHARED_WITH_TEACHER if k in config and k in teacher})
  check(teacher)
  return teacher


def check(config):
  """Every config check of a stage's run (ssljax.train.check_config), before anything runs."""
  train.check_config(config, methods.get(config.method))


def check_workdir(config, workdir: str):
  """Refuses a workdir that holds a pipeline run with a different config (one line naming the keys); then records
  this config in workdir/config.json. RESUMABLE_KEYS may differ."""
  path = os.path.join(workdir, "config.json")
  mine = json.loads(config.to_json_best_effort())
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    keys = sorted((set(saved) | set(mine)) - set(RESUMABLE_KEYS))
    diff = [k for k in keys if saved.get(k) != mine.get(k)]
    if diff:
      what = ", ".join(f"{k}: workdir {saved.get(k)!r} vs config {mine.get(k)!r}" for k in diff[:3])
      raise checkpoint.CheckpointMismatchError(
        f"workdir {workdir} holds a {saved.get('method')} pipeline with another config ({what}); use a new --workdir"
      )
  train._check_workdir(workdir)
  if jax.process_index() == 0:
    train.write_text(path, config.to_json_best_effort(indent=2, sort_keys=True) + "\n")


def run_stage(config, workdir: str, index: int, name: str) -> dict:
  """Trains (or resumes, or reads back) one stage; a short summary of its results for the pipeline's results.json."""
  where = stage_dir(workdir, index, name)
  print(f"[pipeline] stage {index} ({name}): {config.method} in {where}", flush=True)
  results = train.train_and_evaluate(config, where, methods.get(config.method))
  keep = ("method", "model", "steps", "test_accuracy", "test_accuracy_raw", "num_params")
  return {
    "index": index,
    "name": name,
    "workdir": os.path.basename(where),
    **{k: results[k] for k in keep if k in results},
  }


def teacher(config, workdir: str, index: int = 0):
  """The teacher's workdir: config.teacher_workdir, or teacher_config trained as stage `index` ('teacher')."""
  if config.get("teacher_workdir"):
    return config.teacher_workdir, None
  summary = run_stage(teacher_stage_config(config), workdir, index, "teacher")
  return stage_dir(workdir, index, "teacher"), summary


def check_teacher(config):
  """Before anything runs: a named teacher run exists, is finished and is on this config's dataset (its
  config.json), or teacher_config loads and passes its checks."""
  from ssljax.methods import distill

  if config.get("teacher_workdir"):
    distill.check_teacher(config, config.teacher_workdir)
  elif config.get("teacher_config"):
    teacher_stage_config(config)


# ---------------------------------------------------------------- predictions of a finished run


def predict(workdir: str, ds, images: list) -> list:
  """Class probabilities [N, C] (float64 numpy) of the finished classifier run in `workdir` on each uint8 image array
  of `images`: its evaluated variables (EMA when kept), inference mode, batched and sharded over its devices."""
  config, _, state = train.load_run(workdir)
  mesh = parallel.make_mesh(config.get("num_devices") or None)
  with train.precision(config):
    model = common.classifier(config, ds)
    variables = common.eval_variables(state)
    fresh = jax.eval_shape(common.init_fn(model, ds), jax.random.key(0, impl="rbg"))
    same = jax.tree.map(lambda x: tuple(x.shape), {k: fresh.get(k, {}) for k in variables})
    if same != jax.tree.map(lambda x: tuple(x.shape), variables):
      raise ConfigError(f"{workdir!r} is a {config.method} run, not a classifier: it cannot label images")
    logits = common.logits_fn(model, common.normalizer(ds), common.input_dtype(config))
    probs = lambda v, x: jax.nn.softmax(logits(v, x))
    return [np.asarray(parallel.batched_apply(probs, variables, x, mesh), np.float64) for x in images]


# ---------------------------------------------------------------- pseudo-labels


def select(probs, threshold: float, per_class: int = 0, exclude=None):
  """Pool examples whose top probability is ≥ threshold (those in `exclude` left out), at most `per_class` per
  predicted class (0: no limit), the most confident first (ties: the lower index). Returns (sorted indices, labels)."""
  conf, pred = probs.max(1), probs.argmax(1)
  ok = conf >= threshold
  if exclude is not None and len(exclude):
    ok[np.asarray(exclude)] = False
  chosen = []
  for c in range(probs.shape[1]):
    idx = np.flatnonzero(ok & (pred == c))
    idx = idx[np.argsort(-conf[idx], kind="stable")]
    chosen.append(idx[:per_class] if per_class else idx)
  idx = np.sort(np.concatenate(chosen)).astype(np.int64)
  return idx, pred[idx].astype(np.int32)


def write_pseudo_labels(path: str, indices, labels, targets=None):
  """Writes the file once (atomically); a file already there is the one an earlier invocation wrote, and stays."""
  if os.path.exists(path) or jax.process_index() != 0:
    return
  arrays = {"indices": np.asarray(indices, np.int64), "labels": np.asarray(labels, np.int32)}
  if targets is not None:
    arrays["targets"] = np.asarray(targets, np.float32)
  tmp = f"{path}.tmp"
  with open(tmp, "wb") as f:
    np.savez(f, **arrays)
  os.replace(tmp, path)


def pseudo_label_stats(path: str, y_hidden, num_classes: int) -> dict:
  """What a pseudo-label file holds: how many it accepted, per class, and their accuracy against the hidden labels
  (None where none is known)."""
  idx, labels, _ = common.read_pseudo_labels(path, len(y_hidden), num_classes)
  known = y_hidden[idx] >= 0
  acc = float(np.mean(labels[known] == y_hidden[idx][known])) if known.any() else None
  return {"accepted": int(len(idx)), "accuracy": acc, "per_class": np.bincount(labels, minlength=num_classes).tolist()}


def agreement(probs_a, probs_b) -> float:
  return float(np.mean(probs_a.argmax(1) == probs_b.argmax(1)))


# ---------------------------------------------------------------- results


def finish(config, workdir: str, stages: list, **extra) -> dict:
  """The pipeline's results.json: the common keys, the stages (each its summary) and `extra` (test_accuracy, ...)."""
  finished = [s for s in stages if "steps" in s]
  results = {
    "method": config.method,
    "dataset": config.dataset,
    "num_labels": config.num_labels,
    "seed": config.seed,
    "steps": int(sum(s["steps"] for s in finished)),
    "num_devices": parallel.make_mesh(config.get("num_devices") or None).size,
    "num_processes": jax.process_count(),
    "model": config.get("model"),
    # The stages' training time (each stage's results.json), so a resumed pipeline reports what it cost.
    "wall_seconds": float(
      sum(train.read_results(os.path.join(workdir, s["workdir"]))["wall_seconds"] for s in finished)
    ),
    "stages": stages,
    **{f"test_accuracy_{s['name']}": s["test_accuracy"] for s in finished},
    **extra,
  }
  if jax.process_index() == 0:
    train.write_json(os.path.join(workdir, "results.json"), results)
    print("results: " + json.dumps(results), flush=True)
  return results


def already_finished(config, workdir: str):
  """The pipeline's results when it finished with this very config (else None)."""
  results = train.read_results(workdir)
  path = os.path.join(workdir, "config.json")
  if results is None or not os.path.exists(path):
    return None
  with open(path) as f:
    if json.load(f) != json.loads(config.to_json_best_effort()):
      return None
  print(f"pipeline already finished: {json.dumps(results)}", flush=True)
  return results
