"""Declarative config checks: a method lists its own keys and what each must be; bad values fail before anything runs.

Each `Check` carries a value it rejects (`bad`), so the shared tests can try every declared key of every method.
"""

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ssljax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Check:
  ok: Callable[[Any], bool]
  want: str  # completes "config.KEY must be ..."
  bad: Any  # a value `ok` rejects


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _interval(lo, hi, lo_open, hi_open) -> str:
  if lo is not None and hi is not None:
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
  if lo is not None:
    return f"{'>' if lo_open else '>='} {lo:g}"
  if hi is not None:
    return f"{'<' if hi_open else '<='} {hi:g}"
  return "finite"


def _outside(lo, hi, lo_open, hi_open):
  if lo is not None:
    return lo if lo_open else lo - 1
  if hi is not None:
    return hi if hi_open else hi + 1
  return float("nan")


def _within(v, lo, hi, lo_open, hi_open) -> bool:
  if lo is not None and (v < lo or (lo_open and v == lo)):
    return False
  return not (hi is not None and (v > hi or (hi_open and v == hi)))


def number(lo=None, hi=None, *, lo_open=False, hi_open=False) -> Check:
  """A finite real number (not a bool) in the given interval."""
  bad = _outside(lo, hi, lo_open, hi_open)
  return Check(
    lambda v: _is_number(v) and _within(v, lo, hi, lo_open, hi_open),
    f"a finite number {_interval(lo, hi, lo_open, hi_open)}",
    float(bad),
  )


def integer(lo=None, hi=None) -> Check:
  """An int (not a bool) in [lo, hi]."""
  bad = _outside(lo, hi, False, False)
  return Check(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and _within(v, lo, hi, False, False),
    f"an integer {_interval(lo, hi, False, False)}",
    bad if lo is not None or hi is not None else 0.5,
  )


def one_of(*choices) -> Check:
  return Check(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices), "no-such-choice")


BOOL = Check(lambda v: isinstance(v, bool), "True or False", "yes")
PROBABILITY = number(0, 1, lo_open=True)  # thresholds, fractions: (0, 1]
UNIT = number(0, 1)  # [0, 1]
POSITIVE = number(0, lo_open=True)
NON_NEGATIVE = number(0)
POSITIVE_INT = integer(1)
NON_NEGATIVE_INT = integer(0)


def lookup(config, key: str):
  """config['a.b'] as config.a.b; KeyError if absent."""
  value = config
  for part in key.split("."):
    value = value[part]
  return value


def validate(config, checks: dict):
  """Raises one ConfigError line for the first key whose value fails its check (or is missing)."""
  for key, check in checks.items():
    try:
      value = lookup(config, key)
    except (KeyError, AttributeError):
      raise ConfigError(f"config lacks the key {key!r}, which {config.get('method') or 'this job'} needs") from None
    if not check.ok(value):
      raise ConfigError(f"config.{key} must be {check.want}, got {value!r}")
