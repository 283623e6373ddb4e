"""The one training loop every method plugs into.

A method supplies a `Task` (see README.md, "Adding a method"): how to initialise its variables and its own state,
how one device samples and augments its share of the global batch from the dataset held on device, its per-device
loss, and its evaluation. This module turns that into a `state, data -> state, metrics` step that is per-device code
`jax.shard_map`-ed over a 1-D mesh under `jax.jit`, and runs it with Orbax checkpoints, resume, SIGTERM handling,
TensorBoard scalars and results.json.

Gradient convention (docs/design.md): inside shard_map the gradient of a replicated parameter comes out already
summed over devices, so each device differentiates its share of the global loss, `local_mean / num_devices`.
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
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax import checkpoint as ckpt_lib
from ssljax import checks, parallel, summary
from ssljax.errors import ConfigError, NonFiniteLossError, WorkdirError
from ssljax.state import TrainState, update_ema

DTYPES = ("float32", "bfloat16", "float64")

# The knobs every training config has, under the same names, so sweeps work across methods.
COMMON_CHECKS = {
  "method": checks.Check(lambda v: isinstance(v, str) and bool(v), "a method name", ""),
  "dataset": checks.Check(lambda v: isinstance(v, str) and bool(v), "a dataset name", ""),
  "seed": checks.integer(0),
  "num_labels": checks.Check(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and (v >= 1 or v == -1),
    "a positive integer (or -1: every label)",
    0,
  ),
  "total_steps": checks.POSITIVE_INT,
  "batch_size": checks.POSITIVE_INT,
  "eval_every": checks.POSITIVE_INT,
  "checkpoint_every": checks.POSITIVE_INT,
  "log_every": checks.POSITIVE_INT,
  "keep_checkpoints": checks.POSITIVE_INT,
  "num_devices": checks.NON_NEGATIVE_INT,
  "ema_decay": checks.number(0, 1, hi_open=True),
  "dtype": checks.one_of(*DTYPES),
}
COMMON_KEYS = tuple(COMMON_CHECKS)


class LossOutput(NamedTuple):
  """What a per-device loss returns beside the loss value."""

  metrics: dict  # scalars, averaged over devices for logging; must hold "loss"
  batch_stats: Any  # the new BatchNorm statistics ({} for models without)
  method_state: Any = None  # the method's new own state; None keeps it unchanged


@dataclasses.dataclass(frozen=True)
class Task:
  """What a method gives the training loop.

  init(key) -> variables {'params': ..., 'batch_stats': ...}.
  sample(data, key) -> batch: per-device; draws the global batch from `data` (the arrays of `arrays`, on every
    device) and returns this device's rows (parallel.local_slice), augmented with per-example keys.
  loss(params, state, batch, key) -> (loss, LossOutput): per-device mean over the local batch; `state` is the whole
    TrainState before the step (step, batch_stats, ema_params, method_state, ...). BatchNorm uses axis_name AXIS,
    so its statistics are global; statistics the method keeps must be reduced over AXIS too.
  evaluate(state, mesh, workdir, final) -> dict of host floats (test_accuracy, ...); `final` is True for the
    end-of-run evaluation, where costly extras such as pictures belong.
  init_method_state(variables) -> pytree: the method's own state at step 0 (traced in the jitted init).
  after_update(state) -> state: per-device, after the optimiser step (momentum targets and the like).
  on_log(step, scalars) -> None: host-side, on the main process at every log step, with the logged scalars (a
    collapse alarm, say); it must not dispatch device computations.
  images_per_step: every image the step forwards that the method counts as its work (throughput figures).
  backward_images: those of them that also go through a backward pass (None: all of images_per_step).
  forward_only_images: forwards per step without a backward (label guesses, a momentum network's or a teacher's
    views), counted in images_per_step or not; with backward_images it gives the step's model FLOPs,
    forward FLOPs per image x (3 backward_images + forward_only_images).
  """

  init: Callable[[jax.Array], dict]
  sample: Callable[[Any, jax.Array], Any]
  loss: Callable[..., Any]
  evaluate: Callable[[TrainState, Any, str, bool], dict]
  tx: optax.GradientTransformation
  arrays: dict
  images_per_step: int
  init_method_state: Callable[[dict], Any] | None = None
  after_update: Callable[[TrainState], TrainState] | None = None
  on_log: Callable[[int, dict], None] | None = None
  log_keys: tuple = ("loss",)
  info: dict = dataclasses.field(default_factory=dict)
  backward_images: int | None = None
  forward_only_images: int = 0

  @property
  def flop_images(self) -> int:
    """Forward-equivalents per step: 3 per image with a backward, 1 per forward-only image."""
    backward = self.images_per_step if self.backward_images is None else self.backward_images
    return 3 * backward + self.forward_only_images


def check_config(config, method):
  """Every config check of a run, before anything touches the workdir: the common knobs, then the method's own
  (its CHECKS table and its optional check_config hook for rules that tie several keys together)."""
  checks.validate(config, COMMON_CHECKS)
  if config.get("schedule") == "warmup_cosine" and not 0 <= config.get("warmup_steps", 0) < config.total_steps:
    raise ConfigError(
      f"config.warmup_steps={config.get('warmup_steps')} must be in [0, total_steps={config.total_steps})"
    )
  checks.validate(config, getattr(method, "CHECKS", {}))
  hook = getattr(method, "check_config", None)
  if hook is not None:
    hook(config)


def precision(config):
  """The context a run traces and runs in: 64-bit JAX for dtype='float64' (used by the equality tests)."""
  return jax.enable_x64(True) if config.get("dtype") == "float64" else contextlib.nullcontext()


def init_state(task: Task, seed: int, mesh=None, ema: bool = False) -> TrainState:
  """The initial state, built in one jitted call (op-by-op initialisation compiles every op on its own).

  With a mesh, the state is created replicated on all its devices (on every host, for multi-host meshes).
  """

  @functools.partial(jax.jit, out_shardings=parallel.replicated_sharding(mesh) if mesh is not None else None)
  def init(init_key, rng):
    variables = task.init(init_key)
    params = variables["params"]
    # flax keeps BatchNorm statistics in float32 whatever the parameters; a float64 run keeps them in float64.
    param_dtype = jnp.result_type(*jax.tree.leaves(params))
    variables = {**variables, "batch_stats": _cast_floats(variables.get("batch_stats", {}), param_dtype)}
    method_state = task.init_method_state(variables) if task.init_method_state else {}
    return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=variables.get("batch_stats", {}),
      opt_state=task.tx.init(params),
      ema_params=jax.tree.map(jnp.copy, params) if ema else {},
      method_state=method_state,
      rng=rng,
    )

  # Initialisers draw with an 'rbg' key: XLA compiles threefry's many large draws 5x slower.
  # The step's own randomness (small per-example draws) keeps the default threefry key.
  return init(jax.random.key(seed, impl="rbg"), jax.random.key(seed))


def _cast_floats(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _same_dtypes(new, old):
  return jax.tree.map(lambda n, o: n.astype(o.dtype), new, old)


def make_step(task: Task, mesh, ema_decay: float | None, donate: bool = True):
  """The jitted, shard_mapped train step `state, data -> state, metrics` (the state is donated unless told not)."""

  def per_device(state: TrainState, data):
    n = lax.axis_size(parallel.AXIS)
    sample_key, loss_key = jax.random.split(jax.random.fold_in(state.rng, state.step))
    batch = task.sample(data, sample_key)

    def share_of_global_loss(params):
      loss, out = task.loss(params, state, batch, loss_key)
      return loss / n, out

    grads, out = jax.grad(share_of_global_loss, has_aux=True)(state.params)
    updates, opt_state = task.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = update_ema(state.ema_params, params, state.step, ema_decay) if ema_decay else state.ema_params
    # New values keep their initial dtypes, so the step's input and output types agree (one compile).
    batch_stats = _same_dtypes(out.batch_stats, state.batch_stats)
    method_state = (
      state.method_state if out.method_state is None else _same_dtypes(out.method_state, state.method_state)
    )
    new_state = state.replace(
      step=state.step + 1,
      params=params,
      batch_stats=batch_stats,
      opt_state=opt_state,
      ema_params=ema,
      method_state=method_state,
    )
    if task.after_update is not None:
      new_state = task.after_update(new_state)
    return new_state, lax.pmean(out.metrics, parallel.AXIS)

  mapped = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P()), out_specs=(P(), P()))
  return jax.jit(mapped, donate_argnums=(0,) if donate else ())


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


def write_json(path: str, obj: dict):
  """Writes atomically (a killed process never leaves half a file)."""
  write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_text(path: str, text: str):
  """Writes atomically (a killed process never leaves half a file)."""
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def read_results(workdir: str) -> dict | None:
  path = os.path.join(workdir, "results.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def run_config(workdir: str):
  """The config of the finished run in `workdir` (its config.json); WorkdirError unless there is one."""
  import ml_collections

  if not os.path.isdir(workdir):
    raise WorkdirError(f"run workdir {workdir!r} does not exist")
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise WorkdirError(f"{workdir!r} holds no run: no config.json (train it first, with this version of ssljax)")
  if read_results(workdir) is None:
    raise WorkdirError(f"{workdir!r} holds no finished run: no results.json (rerun its command to finish it)")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def load_run(workdir: str, mesh=None):
  """(config, task, state) of the finished run in `workdir`: its config.json, its method's Task and the state of
  its latest checkpoint, replicated over `mesh` (default: the run's own num_devices). Nothing in `workdir` is
  written. Use the state under `precision(config)` (float64 runs)."""
  from ssljax import methods

  config = run_config(workdir)
  method = methods.get(config.method)
  mesh = mesh if mesh is not None else parallel.make_mesh(config.get("num_devices") or None)
  with precision(config):
    task = method.build(config)
    checkpoints = ckpt_lib.Checkpoints(os.path.join(os.path.abspath(workdir), "checkpoints"), config, create=False)
    try:
      latest = checkpoints.latest_step()
      if latest is None:
        raise WorkdirError(f"{workdir!r} holds no checkpoint to load")
      checkpoints.check_compatible(latest)
      like = init_state(task, config.seed, mesh, ema=bool(config.get("ema_decay")))
      state = checkpoints.restore(latest, like, parallel.replicated_sharding(mesh))
    finally:
      checkpoints.close()
  return config, task, state


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


def _format(scalars: dict, keys) -> str:
  return " | ".join(f"{k} {scalars[k]:.4f}" for k in keys if k in scalars)


def median_of_last(history: list, key: str = "test_accuracy", n: int = 5):
  values = [h[key] for h in history if key in h][-n:]
  return float(np.median(values)) if values else None


def train_and_evaluate(config, workdir: str, method, eval_only: bool = False) -> dict:
  """Trains (or resumes) the run described by `config` in `workdir` with `method` (a module of ssljax.methods:
  CHECKS, build(config) -> Task); writes and returns results.json.

  eval_only: evaluate the latest checkpoint in `workdir` (which must exist) and write results.json, no training.
  """
  check_config(config, method)
  with precision(config):
    return _train_and_evaluate(config, workdir, method, eval_only)


def _train_and_evaluate(config, workdir, method, eval_only):
  mesh = parallel.make_mesh(config.get("num_devices") or None)
  if config.batch_size % mesh.size:
    raise ConfigError(f"batch_size={config.batch_size} must be divisible by the number of devices ({mesh.size})")
  task = method.build(config)  # data problems surface here, before the workdir is touched
  _check_workdir(workdir)
  is_main = jax.process_index() == 0
  results_path = os.path.join(workdir, "results.json")
  checkpoints = ckpt_lib.Checkpoints(
    os.path.join(os.path.abspath(workdir), "checkpoints"), config, max_to_keep=config.get("keep_checkpoints", 3)
  )
  latest = checkpoints.latest_step()
  meta = {}
  if latest is not None:
    checkpoints.check_compatible(latest)
    meta = checkpoints.read_meta(latest)
  elif eval_only:
    checkpoints.close()
    raise WorkdirError(f"nothing to evaluate: workdir {workdir!r} holds no checkpoint; train first")
  if is_main and not eval_only:  # so that a later run can read this one back (load_run)
    write_text(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2, sort_keys=True) + "\n")

  ema_decay = config.get("ema_decay", 0.0) or None
  state = init_state(task, config.seed, mesh, ema=bool(ema_decay))
  if latest is not None:
    state = checkpoints.restore(latest, state, parallel.replicated_sharding(mesh))
    print(f"resumed from checkpoint at step {latest} in {workdir}", flush=True)
  start = int(jax.device_get(state.step))
  total = start if eval_only else config.total_steps
  wall_before = meta.get("wall_seconds", 0.0)
  history = list(meta.get("eval_history", []))  # evaluations during training, for median_last5

  if start >= total and os.path.exists(results_path) and not eval_only:
    checkpoints.close()
    results = read_results(workdir)
    print(f"run already finished at step {start}: {json.dumps(results)}", flush=True)
    return results

  data = parallel.put_replicated(task.arrays, mesh)
  step_fn = make_step(task, mesh, ema_decay)
  writer = summary.ScalarWriter(workdir, enabled=is_main)
  log_every = config.log_every
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

  def save(done):
    wall = wall_before + time.time() - t_start
    checkpoints.save(done, state, meta={"wall_seconds": wall, "eval_history": history}, force=True)

  unit = task.info.get("step_unit", "images").replace("images", "img")  # what the logged rate counts
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
            eta = summary.format_eta((total - done) / rate)
            print(
              f"step {done}/{total} | {_format(scalars, task.log_keys)} | "
              f"{scalars['images_per_sec']:.0f} {unit}/s | ETA {eta}",
              flush=True,
            )
            if task.on_log is not None:
              task.on_log(done, scalars)
        if done % config.eval_every == 0 and done != total:
          evals = task.evaluate(state, mesh, workdir, False)
          history.append({"step": done, **evals})
          writer.write(done, evals)
          if is_main:
            print(f"eval step {done}: " + ", ".join(f"{k} {v:.4f}" for k, v in evals.items()), flush=True)
        if done % config.checkpoint_every == 0 or done == total or preemption.requested:
          check_pending()
          save(done)
          last_good = done
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
  median = median_of_last(history + [evals])
  if median is not None:
    results["test_accuracy_median_last5"] = median
  if start:
    results["resumed_from_step"] = start
  if is_main:
    write_json(results_path, results)
    summary.plot_curves(workdir, os.path.join(workdir, "curves.png"))
    print("results: " + json.dumps(results), flush=True)
  return results
