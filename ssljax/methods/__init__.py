"""The training methods: config.method -> the module that implements it.

A method module provides
  CHECKS              {config key: checks.Check} for its own knobs, validated before anything runs;
  build(config)       -> train.Task;
  check_config(config) (optional) for rules that tie several keys together.
Registering it here is all the training loop, launch.py and the shared tests (tests/test_methods.py) need.
"""

import importlib

from ssljax.errors import ConfigError

METHODS = {
  "supervised": "ssljax.methods.supervised",
  "fixmatch": "ssljax.methods.fixmatch",
  "mixmatch": "ssljax.methods.mixmatch",
  "simclr": "ssljax.methods.simclr",
  "rotnet": "ssljax.methods.rotnet",
  "next_token": "ssljax.methods.next_token",
  "masked_token": "ssljax.methods.masked_token",
  "next_sentence": "ssljax.methods.next_sentence",
}


def get(name: str):
  if name not in METHODS:
    raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(sorted(METHODS))}")
  return importlib.import_module(METHODS[name])
