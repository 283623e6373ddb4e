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
  ema_params: Any  # the evaluation EMA of params; {} when config.ema_decay is 0
  method_state: Any  # whatever the method keeps of its own (teacher, queue, running marginal, ...); {} if nothing
  rng: jax.Array  # typed PRNG key; step keys are fold_in(rng, step), so the key never changes


def ema_decay(step, decay: float):
  """Warmed-up EMA decay min(decay, (1+t)/(10+t)): early evaluations are not dominated by the initial weights."""
  t = jnp.asarray(step).astype(jnp.result_type(float))
  return jnp.minimum(decay, (1.0 + t) / (10.0 + t))


def ema(average, value, decay):
  """average ← decay·average + (1−decay)·value, leaf by leaf (decay may be traced)."""
  return jax.tree.map(lambda a, v: (decay * a + (1.0 - decay) * v).astype(a.dtype), average, value)


def update_ema(average, params, step, decay: float):
  """The evaluation EMA with the warmed-up decay of `ema_decay`."""
  return ema(average, params, ema_decay(step, decay))
