r"""Runs one ssljax job: python launch.py --config configs/X.py --workdir DIR [--config.key=value ...].

Re-running the same command on a workdir that holds checkpoints resumes from the latest; a finished run reports its
results without training again. Results go to DIR/results.json, TensorBoard scalars to DIR.
"""

import os
import sys

from absl import flags
from ml_collections import config_flags

import ssljax  # noqa: F401  (sets the XLA:CPU flags before JAX starts)

_CONFIG = config_flags.DEFINE_config_file(
  "config", None, "Path to a configs/<method>_<dataset>.py file.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, TensorBoard events and results.json.")
_EVAL_ONLY = flags.DEFINE_bool("eval_only", False, "Evaluate the latest checkpoint in --workdir; no training.")
_CACHE = flags.DEFINE_string(
  "compilation_cache",
  "~/.cache/ssljax/jax",
  "Persistent XLA compilation cache directory ('' to disable): resumes and reruns "
  "skip recompiling. JAX_COMPILATION_CACHE_DIR takes precedence.",
)
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host jobs).")


def fail(message: str, code: int = 2):
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def main(argv):
  try:
    flags.FLAGS(argv)
  except (AttributeError, KeyError) as e:  # config_flags raises these for overrides of keys the config lacks
    key = str(e).strip("\"'")
    overrides = [a for a in argv[1:] if a.startswith("--config.")]
    fail(f"unknown config key {key!r} in {' '.join(overrides)}: the config defines no such key")
  except Exception as e:  # flags.Error, and ValueError/TypeError from ml_collections for ill-typed overrides
    fail(f"bad command line: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
  if _CONFIG.value is None:
    fail("--config is required, e.g. --config configs/fixmatch_digits.py")
  if not _WORKDIR.value:
    fail("--workdir is required")

  import jax

  if _CACHE.value and not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser(_CACHE.value))
  from ssljax import jobs, parallel
  from ssljax.errors import UserError

  try:
    parallel.maybe_initialize_distributed(_DISTRIBUTED.value)
    results = jobs.run(_CONFIG.value, os.path.expanduser(_WORKDIR.value), eval_only=_EVAL_ONLY.value)
  except UserError as e:
    fail(str(e))
  except KeyboardInterrupt:
    fail("interrupted; rerun the same command to resume from the last checkpoint", 130)
  return results


if __name__ == "__main__":
  main(sys.argv)
