"""MixUp over the GLOBAL batch, as per-device code (Zhang et al., 2018; MixMatch's variant).

x̃ = λ·x_i + (1−λ)·x_π(i), ỹ likewise, λ ~ Beta(α, α) per row. Every device draws the same permutation π and the
same λ's for all global rows from the same key, mixes only its own rows, and fetches the partners (inputs and
targets, which carry no gradient) by all_gather; so 1 device and N devices build the same mixed batch.
"""

import jax
import jax.numpy as jnp

from ssljax import parallel


def keep_larger(lam):
  """MixMatch eq. (9): λ' = max(λ, 1 − λ), so that each mixed row stays closer to its own example."""
  return jnp.maximum(lam, 1.0 - lam)


def global_mixup(key, segments, alpha: float, larger: bool = False):
  """Mixes this device's rows of several batch segments with partners drawn over all of them.

  segments: [(x, y), ...], this device's rows of each segment (the same row count b on every device). The global
    batch is segment 0's rows of devices 0..n−1, then segment 1's, and so on, whatever the device count.
  larger: use λ' = max(λ, 1−λ) (MixMatch) instead of λ.
  Returns (mixed x, mixed y), this device's rows of every segment in order, and the per-row λ.
  """
  xs = [parallel.gather(x) for x, _ in segments]
  ys = [parallel.gather(y) for _, y in segments]
  rows_per_segment = xs[0].shape[0]
  w_x, w_y = jnp.concatenate(xs), jnp.concatenate(ys)
  k_perm, k_lam = jax.random.split(key)
  perm = jax.random.permutation(k_perm, w_x.shape[0])
  lam = jax.random.beta(k_lam, alpha, alpha, (w_x.shape[0],)).astype(w_x.dtype)
  if larger:
    lam = keep_larger(lam)
  b = segments[0][0].shape[0]
  mine = jnp.concatenate([s * rows_per_segment + parallel.global_index(b) for s in range(len(segments))])
  partner, lam = perm[mine], lam[mine]
  x = jnp.concatenate([x for x, _ in segments])
  y = jnp.concatenate([y for _, y in segments])
  lx = lam.reshape((-1,) + (1,) * (x.ndim - 1))
  ly = lam.reshape((-1,) + (1,) * (y.ndim - 1))
  return lx * x + (1 - lx) * w_x[partner], ly * y + (1 - ly) * w_y[partner], lam
