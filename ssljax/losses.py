"""Losses for semi- and self-supervised learning.

Every loss is a small pure function of arrays. Per-example losses return shape
[B]; batch losses (nt_xent) return a scalar.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax import lax


def cross_entropy(logits, labels_int):
  """Per-example ℓ = −log softmax(logits)[y]; logits [B, C], labels [B] int."""
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels_int)


def soft_cross_entropy(logits, target_probs):
  """Per-example ℓ = −Σ_c p_c log softmax(logits)_c; logits, p: [B, C]."""
  return optax.softmax_cross_entropy(logits, target_probs)


def l2_normalize(x, axis=-1, eps=1e-8):
  """x / max(‖x‖₂, eps); finite gradient at x = 0."""
  sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
  return x * lax.rsqrt(jnp.maximum(sq, eps * eps))


def nt_xent(z1, z2, temperature, axis_name=None):
  """SimCLR NT-Xent (Chen et al. 2020, eq. 1): ℓ_{i,j} = −log exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ), s = cos.

  z1, z2: [B, D], this device's projections of the two views. The global batch has N = B × num_devices examples
  per view, i.e. 2N anchors; the positive of anchor i is its other view and the negatives are the remaining
  2N − 2 examples of the global batch. Global order: view-1 rows of devices 0..n−1, then view-2 rows. With
  `axis_name` the other devices' normalised z are gathered (all_gather is differentiable: its transpose returns
  the cotangents to their owners) and only this device's 2B anchors are scored against all 2N columns: memory
  O(B × 2N) per device, never 2N × 2N. Each device differentiates `loss / num_devices` (the repository's
  gradient convention, docs/design.md).

  Returns (mean ℓ over this device's 2B anchors, the fraction of those anchors whose most similar other column
  is their positive).
  """
  if not temperature > 0:
    raise ValueError(f"nt_xent: temperature must be > 0, got {temperature}")
  if z1.ndim != 2 or z1.shape != z2.shape:
    raise ValueError(f"nt_xent: z1 and z2 must be 2-D [B, D] arrays of the same shape, got {z1.shape} and {z2.shape}")
  b = z1.shape[0]
  num_devices = 1 if axis_name is None else lax.axis_size(axis_name)
  n = b * num_devices
  if n < 2:
    raise ValueError(
      "nt_xent: the global batch needs N >= 2 examples per view (at least "
      f"one negative pair), got N = {n} (B = {b} x {num_devices} devices)"
    )

  dtype = jnp.promote_types(z1.dtype, jnp.float32)
  z1 = l2_normalize(z1.astype(dtype))
  z2 = l2_normalize(z2.astype(dtype))
  if axis_name is None:
    rank = 0
    g1, g2 = z1, z2
  else:
    rank = lax.axis_index(axis_name)
    g1 = lax.all_gather(z1, axis_name, tiled=True)  # [N, D]
    g2 = lax.all_gather(z2, axis_name, tiled=True)  # [N, D]

  anchors = jnp.concatenate([z1, z2], axis=0)  # [2B, D]
  columns = jnp.concatenate([g1, g2], axis=0)  # [2N, D]
  logits = anchors @ columns.T / temperature  # [2B, 2N]

  local = jnp.arange(b) + rank * b  # global positions of this device's view-1 rows
  self_idx = jnp.concatenate([local, local + n])  # [2B]
  pos_idx = jnp.concatenate([local + n, local])  # [2B]
  not_self = jnp.arange(2 * n)[None, :] != self_idx[:, None]  # [2B, 2N]
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, pos_idx, where=not_self)
  nearest = jnp.argmax(jnp.where(not_self, lax.stop_gradient(logits), -jnp.inf), axis=-1)
  return jnp.mean(loss), jnp.mean(nearest == pos_idx)


def fixmatch_loss(logits_weak, logits_strong, threshold):
  """ℓu = mean_b 1[max p_b ≥ τ] · H(onehot(argmax p_b), softmax(logits_strong_b)), p = softmax(sg(logits_weak))."""
  probs = jax.nn.softmax(jax.lax.stop_gradient(logits_weak))
  mask = (jnp.max(probs, -1) >= threshold).astype(jnp.float32)
  pseudo = jnp.argmax(probs, -1)
  ce = cross_entropy(logits_strong, pseudo)
  return jnp.mean(mask * ce), mask, pseudo


def sharpen(probs, temperature):
  """MixMatch eq. (7): Sharpen(p, T)_i = p_i^{1/T} / Σ_j p_j^{1/T} (computed as softmax(log p / T))."""
  logp = jnp.log(jnp.maximum(probs, jnp.finfo(jnp.result_type(probs, jnp.float32)).tiny))
  return jax.nn.softmax(logp / temperature, axis=-1)


def distribution_alignment(probs, marginal, target=None):
  """ReMixMatch §3.1: q̃ = Normalize(q · p(y) / p̃(y)), p̃ the model's marginal on unlabelled data."""
  ratio = (1.0 / marginal.shape[-1] if target is None else target) / jnp.maximum(marginal, 1e-6)
  aligned = probs * ratio
  return aligned / jnp.sum(aligned, axis=-1, keepdims=True)


def mixmatch_loss(logits_x, targets_x, logits_u, targets_u):
  """MixMatch eqs. (3)-(5): L_X = 1/|X'| Σ H(p, p_model(x')), L_U = 1/(L|U'|) Σ ‖q − p_model(u')‖²; returns both."""
  l_x = jnp.mean(soft_cross_entropy(logits_x, targets_x))
  l_u = jnp.mean(jnp.square(jax.nn.softmax(logits_u, axis=-1) - targets_u))
  return l_x, l_u


def weighted_l2(pred, target, weight):
  """Per-example ℓ_b = Σ_p w_p ‖x̂_p − x_p‖² / (C Σ_p w_p) over pixels p (context encoder / autoencoder L2)."""
  axes = tuple(range(1, pred.ndim))
  w = jnp.broadcast_to(weight, pred.shape)
  return jnp.sum(w * jnp.square(pred - target), axes) / jnp.maximum(jnp.sum(w, axes), jnp.finfo(pred.dtype).tiny)


def rebalanced_cross_entropy(logits, target, pixel_weight):
  """Zhang et al. 2016 eq. (2), per example: ℓ = −Σ_{h,w} v_hw Σ_q Z_hwq log softmax(logits)_hwq / (H·W).

  logits, target Z (soft-encoded, rows sum to 1): [B, H, W, Q]; pixel_weight v: [B, H, W] (class rebalancing).
  """
  ce = -jnp.sum(target * jax.nn.log_softmax(logits, axis=-1), axis=-1)
  return jnp.mean(pixel_weight * ce, axis=(1, 2))
