"""The train state: one pytree holding everything a step reads and writes."""

from typing import Any

import flax
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
  step: jax.Array  # int32 scalar
  params: Any
  batch_stats: Any
  opt_state: Any
  ema_params: Any  # equal to params when EMA is off
  rng: jax.Array  # typed PRNG key; step keys are fold_in(rng, step), so the key never changes


def ema_decay(step, decay: float):
  """Warmed-up EMA decay min(decay, (1+t)/(10+t)): early evaluations are not dominated by the initial weights."""
  t = step.astype(jnp.float32)
  return jnp.minimum(decay, (1.0 + t) / (10.0 + t))


def update_ema(ema, params, step, decay: float):
  """ema ← d·ema + (1−d)·params with the warmed-up decay d."""
  d = ema_decay(step, decay)
  return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p, ema, params)
