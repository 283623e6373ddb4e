"""The one training loop every method plugs into.

A method supplies a `Task`: how to initialise its variables, how one device samples + augments its share of the
global batch from the dataset held on device, its loss, and its evaluation. This module turns that into a
`state, data -> state, metrics` step that is per-device code `jax.shard_map`-ed over a 1-D mesh under `jax.jit`,
and runs it with Orbax checkpoints, resume, SIGTERM handling, TensorBoard scalars and results.json.

Gradient convention (../shared/PLATFORM-NOTES.md, "gradient trap"): inside shard_map with check_vma=True the
gradient of a replicated parameter comes out already summed over devices. Each device therefore differentiates
its share of the global loss, `local_mean / num_devices`; the implicit sum is then the gradient of the global
mean. tests/test_train.py compares N-device with 1-device gradients to keep this true.
"""

import contextlib
import dataclasses
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax import checkpoint as ckpt_lib
from ssljax import parallel, summary
from ssljax.errors import ConfigError, NonFiniteLossError, WorkdirError
from ssljax.state import TrainState, update_ema

COMMON_KEYS = ("seed", "num_labels", "total_steps", "batch_size", "eval_every", "checkpoint_every", "dataset", "method")


@dataclasses.dataclass(frozen=True)
class Task:
  """What a method gives the training loop.

  init(key) -> variables ({'params': ..., 'batch_stats': ...}).
  sample(data, key) -> batch: per-device; draws the global batch from `data` (the arrays of `arrays`, on every
    device) and returns this device's slice (see parallel.local_slice), augmented with per-example keys.
  loss(params, batch_stats, batch, key, step) -> (loss, (new_batch_stats, metrics)): per-device, mean over the
    local batch; BatchNorm uses axis_name='data' so its statistics are global.
  evaluate(state, mesh, workdir, final) -> dict of host floats (e.g. test_accuracy); `final` is True for the
    end-of-run evaluation (where costly extras such as pictures belong).
  """

  init: Callable[[jax.Array], dict]
  sample: Callable[[Any, jax.Array], Any]
  loss: Callable[..., Any]
  evaluate: Callable[[TrainState, Any, str, bool], dict]
  tx: optax.GradientTransformation
  arrays: dict
  images_per_step: int
  log_keys: tuple = ("loss",)
  info: dict = dataclasses.field(default_factory=dict)


def validate_config(config):
  missing = [k for k in COMMON_KEYS if k not in config]
  if missing:
    raise ConfigError(f"config lacks the common keys {missing}")
  for key in ("total_steps", "batch_size", "eval_every", "checkpoint_every"):
    if not isinstance(config[key], int) or config[key] < 1:
      raise ConfigError(f"config.{key} must be a positive integer, got {config[key]!r}")


def init_state(task: Task, seed: int, mesh=None) -> TrainState:
  """The initial state, built in one jitted call (op-by-op initialisation compiles every op on its own).

  With a mesh, the state is created replicated on all its devices (on every host, for multi-host meshes).
  """

  @functools.partial(jax.jit, out_shardings=parallel.replicated(mesh) if mesh is not None else None)
  def init(init_key, rng):
    variables = task.init(init_key)
    params = variables["params"]
    return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=variables.get("batch_stats", {}),
      opt_state=task.tx.init(params),
      ema_params=params,
      rng=rng,
    )

  # Initialisers draw with an 'rbg' key: XLA compiles threefry's many large draws 5x slower (15 s vs 3 s here).
  # The step's own randomness (small per-example draws) keeps the default threefry key.
  return init(jax.random.key(seed, impl="rbg"), jax.random.key(seed))


def make_step(task: Task, mesh, ema_decay: float | None):
  """The jitted, shard_mapped train step `state, data -> state, metrics`."""

  def per_device(state: TrainState, data):
    n = lax.axis_size(parallel.AXIS)
    sample_key, loss_key = jax.random.split(jax.random.fold_in(state.rng, state.step))
    batch = task.sample(data, sample_key)

    def share_of_global_loss(params):
      loss, (batch_stats, metrics) = task.loss(params, state.batch_stats, batch, loss_key, state.step)
      return loss / n, (batch_stats, metrics)

    grads, (batch_stats, metrics) = jax.grad(share_of_global_loss, has_aux=True)(state.params)
    updates, opt_state = task.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = update_ema(state.ema_params, params, state.step, ema_decay) if ema_decay else params
    metrics = lax.pmean(metrics, parallel.AXIS)
    new_state = state.replace(
      step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state, ema_params=ema
    )
    return new_state, metrics

  return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P()), out_specs=(P(), P())))


@functools.cache
def _argmax_of(apply_fn):
  return lambda variables, x: jnp.argmax(apply_fn(variables, x), -1)


def classifier_accuracy(apply_fn, variables, images, labels, mesh, batch_size=1024) -> float:
  """Top-1 accuracy of `apply_fn(variables, images) -> logits` over a host dataset, sharded over the mesh."""
  preds = parallel.batched_apply(_argmax_of(apply_fn), variables, images, mesh, batch_size)
  return float(np.mean(preds == labels))


def _check_workdir(workdir: str):
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write_test_{os.getpid()}")
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    raise WorkdirError(f"workdir {workdir!r} is not writable: {e.strerror or e}") from None


def _write_json(path: str, obj: dict):
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True)
    f.write("\n")
  os.replace(tmp, path)


class _Preemption:
  """SIGTERM (TPU VM preemption) asks the loop to save a checkpoint and exit at the next step boundary."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    except ValueError:  # not the main thread: leave signals alone
      self._previous = None
    return self

  def _handle(self, signum, frame):
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


class Preempted(SystemExit):
  pass


def _format_metrics(metrics: dict, keys) -> str:
  return " | ".join(f"{k} {metrics[k]:.4f}" for k in keys if k in metrics)


def train_and_evaluate(config, workdir: str, build: Callable[[Any], Task], eval_only: bool = False) -> dict:
  """Trains (or resumes) the run described by `config` in `workdir`; returns and writes results.json.

  eval_only: evaluate the latest checkpoint in `workdir` (which must exist) and write results.json, no training.
  """
  validate_config(config)
  _check_workdir(workdir)
  is_main = jax.process_index() == 0
  results_path = os.path.join(workdir, "results.json")
  mesh = parallel.make_mesh(config.get("num_devices") or None)
  if config.batch_size % mesh.size:
    raise ConfigError(f"batch_size={config.batch_size} must be divisible by the number of devices ({mesh.size})")

  checkpoints = ckpt_lib.Checkpoints(
    os.path.join(os.path.abspath(workdir), "checkpoints"), config, max_to_keep=config.get("keep_checkpoints", 3)
  )
  latest = checkpoints.latest_step()
  wall_before = 0.0
  if latest is not None:
    checkpoints.check_compatible(latest)
    wall_before = checkpoints.read_meta(latest).get("wall_seconds", 0.0)
  elif eval_only:
    checkpoints.close()
    raise WorkdirError(f"nothing to evaluate: workdir {workdir!r} holds no checkpoint; train first")

  task = build(config)
  ema_decay = config.get("ema_decay", 0.0) or None
  state = init_state(task, config.seed, mesh)
  if latest is not None:
    state = checkpoints.restore(latest, state)
    print(f"resumed from checkpoint at step {latest} in {workdir}", flush=True)
  start = int(jax.device_get(state.step))
  total = config.total_steps
  if eval_only:
    total = start

  if start >= total and os.path.exists(results_path) and not eval_only:
    checkpoints.close()
    with open(results_path) as f:
      results = json.load(f)
    print(f"run already finished at step {start}: {json.dumps(results)}", flush=True)
    return results

  data = parallel.replicate(task.arrays, mesh)
  step_fn = make_step(task, mesh, ema_decay)
  writer = summary.ScalarWriter(workdir, enabled=is_main)
  log_every = config.get("log_every", 50)
  t_start = time.time()
  pending = []  # (step, device metrics) not yet checked for finiteness
  last_log_time, last_log_step = time.time(), start
  last_good = latest

  def check_pending():
    fetched = jax.device_get([m for _, m in pending])
    for (s, _), m in zip(pending, fetched):
      if not np.isfinite(m["loss"]):
        good = f"the last good checkpoint is step {last_good}" if last_good is not None else "no checkpoint was saved"
        raise NonFiniteLossError(f"non-finite loss ({m['loss']}) at step {s}; stopping ({good} in {workdir})")
    pending.clear()
    return fetched[-1] if fetched else None

  try:
    with _Preemption() as preemption:
      for step in range(start, total):
        state, metrics = step_fn(state, data)
        pending.append((step + 1, metrics))
        done = step + 1
        if done % log_every == 0 or done == total or preemption.requested:
          last = check_pending()
          now = time.time()
          rate = (done - last_log_step) / max(now - last_log_time, 1e-9)
          last_log_time, last_log_step = now, done
          scalars = {k: float(v) for k, v in last.items()}
          scalars["images_per_sec"] = rate * task.images_per_step
          writer.write(done, scalars)
          if is_main:
            print(
              f"step {done}/{total} | {_format_metrics(scalars, task.log_keys)} | "
              f"{scalars['images_per_sec']:.0f} img/s | ETA {summary.format_eta((total - done) / rate)}",
              flush=True,
            )
        if done % config.checkpoint_every == 0 or done == total or preemption.requested:
          check_pending()
          checkpoints.save(done, state, meta={"wall_seconds": wall_before + time.time() - t_start}, force=True)
          last_good = done
        if done % config.eval_every == 0 and done != total:
          evals = task.evaluate(state, mesh, workdir, False)
          writer.write(done, evals)
          if is_main:
            print(f"eval step {done}: " + ", ".join(f"{k} {v:.4f}" for k, v in evals.items()), flush=True)
        if preemption.requested:
          checkpoints.close()
          writer.close()
          print(f"SIGTERM: saved checkpoint at step {done} in {workdir}; rerun the same command to resume", flush=True)
          raise Preempted(143)
    checkpoints.close()
  except BaseException:
    writer.flush()
    if not isinstance(sys.exc_info()[1], Preempted):
      with contextlib.suppress(Exception):  # the original error matters more than a failed close
        checkpoints.close()
    raise

  evals = task.evaluate(state, mesh, workdir, True)
  writer.write(total, evals)
  writer.close()
  results = {
    "method": config.method,
    "dataset": config.dataset,
    "num_labels": config.num_labels,
    "seed": config.seed,
    "steps": int(jax.device_get(state.step)),
    "num_devices": mesh.size,
    "num_processes": jax.process_count(),
    "wall_seconds": wall_before + time.time() - t_start,
    **task.info,
    **evals,
  }
  if start:
    results["resumed_from_step"] = start
  if is_main:
    _write_json(results_path, results)
    print("results: " + json.dumps(results), flush=True)
  return results
