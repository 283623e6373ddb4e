"""Orbax checkpoints of the train state, tagged with the config that made them."""

import jax
import orbax.checkpoint as ocp

from ssljax.errors import UserError

# Config keys that define a run: a workdir whose checkpoints differ in any of them belongs to another experiment.
IDENTITY_KEYS = ("method", "dataset", "model", "num_labels", "seed")


class CheckpointMismatchError(UserError):
  pass


def fingerprint(config) -> dict:
  return {k: config.get(k) for k in IDENTITY_KEYS}


class Checkpoints:
  """Periodic async saves, keeping the last few; unfinished (SIGKILLed) saves are never picked up by orbax."""

  def __init__(self, directory: str, config, max_to_keep: int = 3):
    self.config_fingerprint = fingerprint(config)
    self.manager = ocp.CheckpointManager(
      directory,
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, enable_async_checkpointing=True),
    )

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

  def restore(self, step: int, like):
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
    return restored["state"]

  def save(self, step: int, state, meta: dict | None = None, force: bool = False):
    meta = {"fingerprint": self.config_fingerprint, **(meta or {})}
    return self.manager.save(
      step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=force
    )

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()
