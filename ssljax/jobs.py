"""What `launch.py` can run: a training method (ssljax.methods, trained by ssljax.train) or a demo job.

Training methods checkpoint, resume and take --eval_only; a demo job is one function run(config, workdir) that
computes and reports, with nothing to resume.
"""

import importlib

from ssljax import methods, train
from ssljax.errors import ConfigError

DEMOS = {
  "cluster_demo": "ssljax.cluster.demo",
}


def names() -> list:
  return sorted(list(methods.METHODS) + list(DEMOS))


def run(config, workdir: str, eval_only: bool = False) -> dict:
  name = config.get("method")
  if name in methods.METHODS:
    return train.train_and_evaluate(config, workdir, methods.get(name), eval_only)
  if name in DEMOS:
    if eval_only:
      raise ConfigError(
        f"--eval_only re-evaluates a training checkpoint, but {name!r} is a demo job with none; drop --eval_only"
      )
    return importlib.import_module(DEMOS[name]).run(config, workdir)
  raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(names())}")
