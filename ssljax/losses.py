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


def distillation(student_logits, teacher_logits, temperature):
  """Hinton et al. (2015): per-example ℓ = T² · KL(softmax(t/T) ‖ softmax(s/T)), teacher logits t held fixed."""
  t = jax.lax.stop_gradient(teacher_logits) / temperature
  p_t = jax.nn.softmax(t)
  log_ratio = jax.nn.log_softmax(t) - jax.nn.log_softmax(student_logits / temperature)
  return temperature**2 * jnp.sum(jnp.where(p_t > 0, p_t * log_ratio, 0.0), axis=-1)


def entropy(logits):
  """Entropy minimisation (Grandvalet & Bengio, 2005): per-example H(p) = −Σ_c p_c log p_c, p = softmax(logits)."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


def kl_divergence(target_probs, logits):
  """Per-example KL(q ‖ p) = Σ_c q_c (log q_c − log p_c), p = softmax(logits), 0·log 0 = 0 (UDA eq. 2, VAT eq. 4)."""
  logp = jax.nn.log_softmax(logits, axis=-1)
  return jnp.sum(jax.scipy.special.xlogy(target_probs, target_probs) - target_probs * logp, axis=-1)


def softmax_mse(logits, target_probs):
  """Π-model / Mean Teacher consistency: per-example (1/C) ‖softmax(logits) − q‖² (Laine & Aila, 2017, alg. 1)."""
  return jnp.mean(jnp.square(jax.nn.softmax(logits, axis=-1) - target_probs), axis=-1)


def uda_loss(logits_weak, logits_strong, temperature, threshold):
  """UDA (Xie et al., 2020): ℓu = mean_b 1[max p_b ≥ β] · KL(sg(softmax(z_b/T)) ‖ softmax(logits_strong_b)), p the
  weak view's unsharpened prediction; returns (ℓu, mask, argmax p)."""
  logits_weak = lax.stop_gradient(logits_weak)
  probs = jax.nn.softmax(logits_weak, axis=-1)
  mask = (jnp.max(probs, -1) >= threshold).astype(probs.dtype)
  targets = jax.nn.softmax(logits_weak / temperature, axis=-1)
  return jnp.mean(mask * kl_divergence(targets, logits_strong)), mask, jnp.argmax(probs, -1)


def jensen_shannon(logits_a, logits_b):
  """Deep Co-Training's L_cot (Qiao et al. 2018, eq. 2): per-example H(½(p₁ + p₂)) − ½(H(p₁) + H(p₂))."""
  p_mid = 0.5 * (jax.nn.softmax(logits_a) + jax.nn.softmax(logits_b))
  h_mid = -jnp.sum(jax.scipy.special.xlogy(p_mid, p_mid), axis=-1)
  return h_mid - 0.5 * (entropy(logits_a) + entropy(logits_b))


def weighted_pseudo_label_loss(logits_strong, pseudo, weight):
  """ℓu = mean_b w_b · H(onehot(ŷ_b), softmax(logits_strong_b)), a per-example weight (or 0/1 mask) w_b on hard ŷ_b."""
  return jnp.mean(weight * cross_entropy(logits_strong, pseudo))


MAPPINGS = ("convex", "linear")


def flexmatch_thresholds(beta, threshold, mapping="convex"):
  """FlexMatch's class thresholds T_t(c) = M(β_t(c))·τ; M(x) = x / (2 − x) (convex, the paper's) or x (linear)."""
  if mapping == "convex":
    return threshold * beta / (2.0 - beta)
  if mapping == "linear":
    return threshold * beta
  raise ValueError(f"unknown mapping {mapping!r}: use one of {', '.join(MAPPINGS)}")


def freematch_fairness_loss(probs_strong, mask, p_model, label_hist):
  """FreeMatch's self-adaptive fairness L_f = −H(SumNorm(p̃/h̃), SumNorm(p̄/h̄)) over the masked rows.

  probs_strong: [N, C] softmax of the strong views; p̄ (their mean over the masked rows) carries the gradient, h̄ (the
  histogram of their argmax over the masked rows) does not. mask: [N] 0/1. p_model, label_hist: [C], the EMA class
  marginal p̃ and argmax histogram h̃ (no gradient). A class no masked row predicts gets weight 0 in SumNorm(p̄/h̄)
  (1/h̄ = ∞ is taken as 0). Returns 0 when no row is masked.
  """
  mask = lax.stop_gradient(mask).astype(probs_strong.dtype)
  count = jnp.sum(mask)
  safe = jnp.maximum(count, 1.0)
  mean_prob = jnp.sum(probs_strong * mask[:, None], 0) / safe
  pred = jnp.argmax(lax.stop_gradient(probs_strong), -1)
  hist = jnp.sum(jax.nn.one_hot(pred, probs_strong.shape[-1], dtype=mask.dtype) * mask[:, None], 0) / safe
  inv_hist = jnp.where(hist > 0, 1.0 / jnp.where(hist > 0, hist, 1.0), 0.0)
  target = lax.stop_gradient(p_model / label_hist)
  target = target / jnp.sum(target)
  modulated = mean_prob * inv_hist
  modulated = modulated / jnp.maximum(jnp.sum(modulated), jnp.finfo(modulated.dtype).tiny)
  loss = jnp.sum(target * jnp.log(modulated + 1e-12))
  return jnp.where(count > 0, loss, 0.0)


def softmatch_weights(max_probs, mean, variance, n_sigma):
  """SoftMatch's truncated Gaussian weight λ(p) = exp(−(max p − μ_t)² / (2σ_t²/n²)) where max p < μ_t, else 1."""
  gap = jnp.minimum(max_probs - mean, 0.0)
  return jnp.exp(-jnp.square(gap) / (2.0 * variance / n_sigma**2))
