r"""Runs one ssljax job: `ssljax-launch --config NAME_OR_PATH --workdir DIR [--config.key=value ...]`
(also `python -m ssljax.launch ...` or, in a source checkout, `python launch.py ...`).

NAME_OR_PATH is a config file (configs/fixmatch_digits.py) or the name of one that ships with ssljax
(fixmatch_digits). Re-running the same command on a workdir that holds checkpoints resumes from the latest; a
finished run reports its results without training again. Results go to DIR/results.json, TensorBoard scalars to DIR.
"""

import importlib.resources
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


def config_path(name: str) -> str:
  """A config file by path, or by name among the configs that ship with ssljax (`ssljax.configs`, or configs/ of
  a source checkout)."""
  if os.path.exists(name) or name.endswith(".py") and os.sep in name:
    return name
  file = f"{name[:-3] if name.endswith('.py') else name}.py"
  try:
    shipped = importlib.resources.files("ssljax.configs") / file
    if shipped.is_file():
      return str(shipped)
  except ModuleNotFoundError:
    pass
  return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", file)


def _resolve_config_args(argv):
  """--config NAME / --config=NAME -> a path (ml_collections reads files only)."""
  out, i = [], 0
  while i < len(argv):
    arg = argv[i]
    if arg == "--config" and i + 1 < len(argv):
      arg, i = "--config=" + argv[i + 1], i + 1
    if arg.startswith("--config="):
      name = arg.split("=", 1)[1]
      path = config_path(name)
      if not os.path.exists(path):
        fail(
          f"no config {name!r}: neither a file nor one of the configs that ship with ssljax ({', '.join(shipped())})"
        )
      arg = "--config=" + path
    out.append(arg)
    i += 1
  return out


def shipped() -> list:
  """The names of the configs that ship with ssljax."""
  folder = os.path.dirname(config_path("fixmatch_digits"))
  return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_"))


def fail(message: str, code: int = 2):
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.exit(code)


def main(argv=None):
  argv = _resolve_config_args(sys.argv if argv is None else argv)
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
  main()
