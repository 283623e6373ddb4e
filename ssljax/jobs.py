"""config.method -> the module whose run(config, workdir) carries out that job."""

import importlib

from ssljax.errors import ConfigError

JOBS = {
  "fixmatch": "ssljax.methods.fixmatch",
  "supervised": "ssljax.methods.supervised",
  "mixmatch": "ssljax.methods.mixmatch",
  "cluster_demo": "ssljax.cluster.demo",
  "simclr": "ssljax.methods.simclr",
  "rotnet": "ssljax.methods.rotnet",
}


def get(method: str):
  if method not in JOBS:
    raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(sorted(JOBS))}")
  return importlib.import_module(JOBS[method])
