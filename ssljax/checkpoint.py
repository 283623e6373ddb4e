"""Orbax checkpoints of the train state, tagged with the config that made them.

A save first copies the state to host memory on the calling thread, so Orbax's background writer only ever sees
numpy arrays: no device computation is dispatched from a second thread (a collective entered from two threads can
hang a multi-device job), and the step may donate the device state right after the save returns.
"""

import contextlib
import hashlib
import logging
import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from ssljax.errors import UserError

# Config keys that define a run: a workdir whose checkpoints differ in any of them belongs to another experiment.
IDENTITY_KEYS = (
  "method",
  "dataset",
  "model",
  "num_labels",
  "seed",
  "image_size",
  "dtype",
  "pseudo_labels",
  "teacher_workdir",
  "init_from",
)
# Identity keys that name a file or another run: they enter the fingerprint as a digest of what they name (the file,
# or the run's config.json), so that a changed file is not taken for the same run.
NAMED_FILES = {
  "pseudo_labels": lambda path: path,
  "teacher_workdir": lambda workdir: os.path.join(workdir, "config.json"),
  "init_from": lambda workdir: os.path.join(workdir, "config.json"),
}


class CheckpointMismatchError(UserError):
  pass


@contextlib.contextmanager
def _quiet(logger_name: str):
  logger = logging.getLogger(logger_name)
  level = logger.level
  logger.setLevel(logging.ERROR)
  try:
    yield
  finally:
    logger.setLevel(level)


def file_digest(path: str) -> str:
  with open(path, "rb") as f:
    return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def fingerprint(config) -> dict:
  out = {}
  for key in IDENTITY_KEYS:
    value = config.get(key)
    if key in NAMED_FILES:
      path = NAMED_FILES[key](value) if value else None
      value = None if path is None else file_digest(path) if os.path.exists(path) else f"missing:{path}"
    out[key] = value
  return out


def _is_key(x) -> bool:
  return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_host(tree):
  """Numpy copy of a pytree of arrays; typed PRNG keys become their raw key data."""
  return jax.device_get(jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree))


def from_host(host, like, sharding=None):
  """Inverse of `to_host`, placed with `sharding` (default: as `like`'s leaves)."""

  def put(h, x):
    s = sharding if sharding is not None else x.sharding
    if _is_key(x):
      return jax.device_put(jax.random.wrap_key_data(np.asarray(h), impl=jax.random.key_impl(x)), s)
    return jax.device_put(np.asarray(h, dtype=x.dtype), s)

  return jax.tree.map(put, host, like)


class Checkpoints:
  """Periodic async saves, keeping the last few; unfinished (SIGKILLed) saves are never picked up by orbax."""

  def __init__(self, directory: str, config, max_to_keep: int = 3, create: bool = True):
    self.config_fingerprint = fingerprint(config)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, enable_async_checkpointing=True)
    if not create:  # reading another run's checkpoints: never write there (orbax warns about each option it drops)
      with _quiet("absl"):
        options = ocp.CheckpointManagerOptions(max_to_keep=None, create=False, read_only=True, save_interval_steps=0)
        self.manager = ocp.CheckpointManager(directory, options=options)
      return
    self.manager = ocp.CheckpointManager(directory, options=options)

  def latest_step(self):
    return self.manager.latest_step()

  def read_meta(self, step: int) -> dict:
    return self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

  def check_compatible(self, step: int):
    saved = self.read_meta(step).get("fingerprint", {})
    diff = {k: (saved.get(k), v) for k, v in self.config_fingerprint.items() if saved.get(k) != v}
    if diff:
      what = ", ".join(f"{k}: checkpoint {a!r} vs config {b!r}" for k, (a, b) in diff.items())
      raise CheckpointMismatchError(
        f"workdir {self.manager.directory} holds checkpoints of a different run ({what}); "
        "use a new --workdir or the original config"
      )

  def restore(self, step: int, like, sharding=None):
    """The state saved at `step`, shaped and placed as `like` (a state on device)."""
    abstract = to_host(like)
    restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
    return from_host(restored["state"], like, sharding)

  def save(self, step: int, state, meta: dict | None = None, force: bool = False):
    meta = {"fingerprint": self.config_fingerprint, **(meta or {})}
    host = to_host(state)
    return self.manager.save(
      step, args=ocp.args.Composite(state=ocp.args.StandardSave(host), meta=ocp.args.JsonSave(meta)), force=force
    )

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()
