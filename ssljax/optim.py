"""Optimisers and learning-rate schedules, built from optax, chosen by config."""

import jax
import jax.numpy as jnp
import optax


def kernel_mask(params):
  """True for conv/dense kernels: weight decay (and LARS adaptation) apply to these, not to BN scales or biases."""
  return jax.tree_util.tree_map_with_path(lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


def schedule(config) -> optax.Schedule:
  """config.schedule: 'fixmatch_cosine' lr·cos(7πk/16K), 'warmup_cosine', 'steps' (×0.2 at fractions), 'constant'."""
  lr, total = config.lr, config.total_steps
  name = config.get("schedule", "constant")
  if name == "fixmatch_cosine":
    return lambda k: lr * jnp.cos(7 * jnp.pi * k / (16 * total))
  if name == "warmup_cosine":
    warmup = int(config.get("warmup_steps", 0))
    return optax.warmup_cosine_decay_schedule(0.0, lr, max(warmup, 1), total, end_value=0.0)
  if name == "steps":
    bounds = {int(f * total): config.get("lr_decay_factor", 0.2) for f in config.lr_decay_at}
    return optax.piecewise_constant_schedule(lr, bounds)
  if name == "constant":
    return optax.constant_schedule(lr)
  raise ValueError(f"unknown schedule {name!r}: use fixmatch_cosine, warmup_cosine, steps or constant")


def make(config) -> optax.GradientTransformation:
  """config.optimizer: 'sgd' (Nesterov, L2 on kernels), 'lars' (SimCLR), 'adamw' (MixMatch's decoupled decay)."""
  lr = schedule(config)
  name = config.optimizer
  wd = config.get("weight_decay", 0.0)
  if name == "sgd":
    return optax.chain(
      optax.add_decayed_weights(wd, mask=kernel_mask),
      optax.sgd(lr, momentum=config.get("momentum", 0.9), nesterov=config.get("nesterov", True)),
    )
  if name == "lars":
    return optax.lars(
      lr,
      weight_decay=wd,
      weight_decay_mask=kernel_mask,
      trust_ratio_mask=kernel_mask,
      momentum=config.get("momentum", 0.9),
      trust_coefficient=config.get("trust_coefficient", 0.001),  # solo-learn's recipes: eta 0.02
    )
  if name == "adamw":
    # MixMatch decays kernels by (1 - wd·lr) per step, decoupled from the adaptive update: optax.adamw's
    # weight_decay is multiplied by the learning rate, so pass wd as the fraction of lr.
    return optax.adamw(lr, weight_decay=wd, mask=kernel_mask)
  raise ValueError(f"unknown optimizer {name!r}: use sgd, lars or adamw")
