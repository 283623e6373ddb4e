"""The experiment configs, one `get_config()` per file, installed as the package `ssljax.configs`.

from ssljax import configs
config = configs.get("fixmatch_digits", total_steps=200)
"""

import importlib
import os


def names() -> list:
  folder = os.path.dirname(os.path.abspath(__file__))
  return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_"))


def get(name: str, **overrides):
  """configs/<name>.py's get_config() with `overrides` applied (dotted keys as key__sub, e.g. augment__cutout=0.3)."""
  if name not in names():
    raise ValueError(f"no config {name!r}; choose one of {', '.join(names())}")
  config = importlib.import_module(f"{__name__}.{name}").get_config()
  return override(config, {k.replace("__", "."): v for k, v in overrides.items()})


def override(config, values: dict):
  """Sets config['a.b'] = v for each dotted key (types not enforced: tests set deliberately bad values)."""
  with config.ignore_type():
    for key, value in values.items():
      *parents, leaf = key.split(".")
      target = config
      for p in parents:
        target = target[p]
      target[leaf] = value
  return config


# Keys that count steps and scale with the run's length when a run is shortened.
STEP_KEYS = ("warmup_steps", "rampup_steps", "eval_every", "checkpoint_every", "log_every")


def shorten(config, total_steps: int):
  """The config with total_steps, every step-counting knob scaled in proportion (at least 1 step, warm-ups and
  ramp-ups below the new length): for quick looks at a method, not for results."""
  scale = total_steps / config.total_steps
  for key in STEP_KEYS:
    if key in config and config[key]:
      config[key] = max(1, min(int(round(config[key] * scale)), total_steps))
  if config.get("warmup_steps"):
    config.warmup_steps = min(config.warmup_steps, max(total_steps - 1, 0))
  config.total_steps = total_steps
  return config
