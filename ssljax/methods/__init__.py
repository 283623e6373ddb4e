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
  "distill": "ssljax.methods.distill",
  "deep_co_training": "ssljax.methods.deep_co_training",
  "pi_model": "ssljax.methods.pi_model",
  "mean_teacher": "ssljax.methods.mean_teacher",
  "pseudo_label": "ssljax.methods.pseudo_label",
  "entropy_min": "ssljax.methods.entropy_min",
  "vat": "ssljax.methods.vat",
  "uda": "ssljax.methods.uda",
  "flexmatch": "ssljax.methods.flexmatch",
  "freematch": "ssljax.methods.freematch",
  "softmatch": "ssljax.methods.softmatch",
  "byol": "ssljax.methods.byol",
  "moco": "ssljax.methods.moco",
  "simsiam": "ssljax.methods.simsiam",
  "barlow_twins": "ssljax.methods.barlow_twins",
  "vicreg": "ssljax.methods.vicreg",
  "dino": "ssljax.methods.dino",
  "swav": "ssljax.methods.swav",
  "inpainting": "ssljax.methods.inpainting",
  "denoising": "ssljax.methods.denoising",
  "deblurring": "ssljax.methods.deblurring",
  "colorization": "ssljax.methods.colorization",
  "jigsaw": "ssljax.methods.jigsaw",
  "next_token": "ssljax.methods.next_token",
  "masked_token": "ssljax.methods.masked_token",
  "next_sentence": "ssljax.methods.next_sentence",
}


def get(name: str):
  if name not in METHODS:
    raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(sorted(METHODS))}")
  return importlib.import_module(METHODS[name])
