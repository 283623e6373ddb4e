"""What `launch.py` can run: a training method (ssljax.methods, trained by ssljax.train), a pipeline of training
runs (ssljax.pipelines) or a demo job.

Training methods checkpoint, resume and take --eval_only; a pipeline runs stages that are training runs, each in
its own subdirectory (each resumes by itself; a finished stage is not trained again); a demo job is one function
run(config, workdir) that computes and reports, with nothing to resume. A distill config whose teacher_workdir is
empty is the distillation pipeline: its teacher_config is trained first.
"""

import importlib

from ssljax import methods, train
from ssljax.errors import ConfigError

DEMOS = {
  "cluster_demo": "ssljax.cluster.demo",
}

PIPELINES = {
  "self_training": "ssljax.pipelines.self_training",
  "noisy_student": "ssljax.pipelines.noisy_student",
  "co_training": "ssljax.pipelines.co_training",
}


def names() -> list:
  return sorted(list(methods.METHODS) + list(DEMOS) + list(PIPELINES))


def pipeline(config):
  """The pipeline module that runs `config`, or None when it is a single run (or a demo)."""
  name = config.get("method")
  if name in PIPELINES:
    return importlib.import_module(PIPELINES[name])
  if name in methods.METHODS and config.get("teacher_config") and not config.get("teacher_workdir"):
    return importlib.import_module("ssljax.pipelines.distill")
  return None


def check(config):
  """Every config check of a training method or pipeline, before anything runs."""
  module = pipeline(config)
  if module is not None:
    module.check_config(config)
  else:
    train.check_config(config, methods.get(config.get("method")))


def run(config, workdir: str, eval_only: bool = False) -> dict:
  name = config.get("method")
  module = pipeline(config)
  if module is not None:
    if eval_only:
      raise ConfigError(
        f"--eval_only re-evaluates one training checkpoint, but {name!r} here is a pipeline of several runs, each "
        "evaluated as it finishes; drop --eval_only (or pass a stage's workdir and config)"
      )
    return module.run(config, workdir)
  if name in methods.METHODS:
    return train.train_and_evaluate(config, workdir, methods.get(name), eval_only)
  if name in DEMOS:
    if eval_only:
      raise ConfigError(
        f"--eval_only re-evaluates a training checkpoint, but {name!r} is a demo job with none; drop --eval_only"
      )
    return importlib.import_module(DEMOS[name]).run(config, workdir)
  raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(names())}")
