"""Tiny configs shared by the tests: small shapes so each compile takes seconds."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def load_config(name: str, **overrides):
  import importlib.util

  spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "configs", f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  for key, value in overrides.items():
    target = config
    *parents, leaf = key.split(".")
    for p in parents:
      target = target[p]
    target[leaf] = value
  return config


TINY_FIXMATCH = {
  "batch_size": 8,
  "mu": 2,
  "total_steps": 4,
  "checkpoint_every": 2,
  "eval_every": 1000,
  "log_every": 2,
  "model_kwargs.width": 4,
}


def tiny_fixmatch(**overrides):
  return load_config("fixmatch_digits", **{**TINY_FIXMATCH, **overrides})


TINY_ARGS = [f"--config.{k}={v}" for k, v in TINY_FIXMATCH.items()]


def run_steps(task, num_devices, steps, ema_decay=0.999):
  """`steps` train steps of `task` on a mesh of the first `num_devices` devices; (host state, host metrics)."""
  import jax

  from ssljax import parallel, train

  mesh = parallel.make_mesh(num_devices)
  state = train.init_state(task, seed=0, mesh=mesh)
  data = parallel.replicate(task.arrays, mesh)
  step = train.make_step(task, mesh, ema_decay=ema_decay)
  metrics = []
  for _ in range(steps):
    state, m = step(state, data)
    metrics.append(jax.device_get(m))
  return jax.device_get(state), metrics


def read_json(path):
  import json

  with open(path) as f:
    return json.load(f)
