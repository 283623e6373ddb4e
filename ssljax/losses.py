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


# ---------------------------------------------------------------- joint-embedding self-supervised losses
# The batch losses below take GLOBAL-batch arrays (rows of every device, e.g. parallel.gather(z)): every device then
# computes the same value, and the transpose of the gather returns each device its rows' cotangents, so each device
# differentiating loss / num_devices gives the gradient of the global loss (docs/design.md).


def byol_loss(p, z):
  """BYOL (Grill et al. 2020, eq. 2): ℓ = ‖p̄ − z̄‖² = 2 − 2·cos(p, z), per example; z is the (stopped) target."""
  return 2.0 - 2.0 * jnp.sum(l2_normalize(p) * l2_normalize(lax.stop_gradient(z)), axis=-1)


def simsiam_loss(p, z):
  """SimSiam (Chen & He 2021, eq. 1): D(p, z) = −cos(p, stopgrad(z)), per example."""
  return -jnp.sum(l2_normalize(p) * l2_normalize(lax.stop_gradient(z)), axis=-1)


def infonce_queue(q, k, queue, temperature, valid=None):
  """MoCo (He et al. 2020, eq. 1): ℓ = −log exp(q·k₊/τ) / (exp(q·k₊/τ) + Σ_{k₋ ∈ queue} exp(q·k₋/τ)), per example.

  q, k: [B, D] (k stopped), queue: [K, D] negatives; all ℓ2-normalised here. valid: [K] bool, False for queue slots
  not yet filled (left out of the denominator). Returns (ℓ [B], whether the positive scores highest [B])."""
  q = l2_normalize(q)
  k = l2_normalize(lax.stop_gradient(k))
  pos = jnp.sum(q * k, axis=-1, keepdims=True)
  neg = q @ lax.stop_gradient(queue).T
  logits = jnp.concatenate([pos, neg], axis=-1) / temperature
  where = None
  if valid is not None:
    where = jnp.concatenate([jnp.ones((q.shape[0], 1), bool), jnp.broadcast_to(valid, neg.shape)], axis=-1)
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.zeros(q.shape[0], jnp.int32), where=where)
  masked = logits if where is None else jnp.where(where, logits, -jnp.inf)
  return loss, jnp.argmax(lax.stop_gradient(masked), axis=-1) == 0


def standardize_columns(z, eps=1e-5):
  """(z − mean) / sqrt(var + eps) per column over the rows (BatchNorm without affine, biased variance)."""
  mean = jnp.mean(z, axis=0)
  var = jnp.mean(jnp.square(z - mean), axis=0)
  return (z - mean) * lax.rsqrt(var + eps)


def cross_correlation(z1, z2):
  """Barlow Twins (Zbontar et al. 2021, eq. 2): C_ij = Σ_b ẑ1_bi ẑ2_bj / N, ẑ standardised over the N rows."""
  return standardize_columns(z1).T @ standardize_columns(z2) / z1.shape[0]


def barlow_twins_loss(z1, z2, lambda_offdiag):
  """Barlow Twins (eq. 1): L = Σ_i (1 − C_ii)² + λ Σ_i Σ_{j≠i} C_ij²; z1, z2: [N, D] global batch."""
  c = cross_correlation(z1, z2)
  on = jnp.sum(jnp.square(1.0 - jnp.diagonal(c)))
  off = jnp.sum(jnp.square(c)) - jnp.sum(jnp.square(jnp.diagonal(c)))
  return on + lambda_offdiag * off, on, off


def vicreg_terms(z1, z2, eps=1e-4):
  """VICReg (Bardes et al. 2022, eqs. 1–5) on the N-row global batch: s = mean_b ‖z1_b − z2_b‖²/D (MSE),
  v = Σ_views mean_d max(0, 1 − sqrt(Var(z_d) + ε)), c = Σ_views Σ_{i≠j} Cov(z)_ij² / D; returns (s, v, c)."""
  d = z1.shape[-1]
  inv = jnp.mean(jnp.square(z1 - z2))

  def var_cov(z):
    zc = z - jnp.mean(z, axis=0)
    cov = zc.T @ zc / (z.shape[0] - 1)
    var = jnp.mean(jax.nn.relu(1.0 - jnp.sqrt(jnp.diagonal(cov) + eps)))
    off = (jnp.sum(jnp.square(cov)) - jnp.sum(jnp.square(jnp.diagonal(cov)))) / d
    return var, off

  v1, c1 = var_cov(z1)
  v2, c2 = var_cov(z2)
  return inv, v1 + v2, c1 + c2


def dino_loss(student_logits, teacher_logits, center, student_temp, teacher_temp):
  """DINO (Caron et al. 2021, eq. 1 with centring): mean over pairs (t, s), s ≠ t, of
  H(softmax((g_t − c)/τt), softmax(g_s/τs)), per example.

  student_logits: [V, B, K] (2 global + local crops), teacher_logits: [2, B, K] of the global crops (stopped);
  pairs with the same global crop are skipped. Returns [B]."""
  targets = jax.nn.softmax((lax.stop_gradient(teacher_logits) - center) / teacher_temp, axis=-1)
  logp = jax.nn.log_softmax(student_logits / student_temp, axis=-1)
  total, pairs = 0.0, 0
  for t in range(targets.shape[0]):
    for s in range(logp.shape[0]):
      if s != t:
        total = total - jnp.sum(targets[t] * logp[s], axis=-1)
        pairs += 1
  return total / pairs


def sinkhorn(scores, epsilon, iterations, axis_name=None):
  """SwAV's Sinkhorn-Knopp (Caron et al. 2020, §3.1): Q = Diag(u) exp(Sᵀ/ε) Diag(v) with rows summing to 1/K and
  columns to 1/N over the GLOBAL batch of N rows; returns the codes Q·N, [B, K] rows summing to 1 (no gradient).

  scores: [B, K] this device's rows; with `axis_name` the batch sums are psum'd over the mesh axis."""
  scores = lax.stop_gradient(scores)
  gsum = (lambda x: x) if axis_name is None else (lambda x: lax.psum(x, axis_name))
  gmax = (lambda x: x) if axis_name is None else (lambda x: lax.pmax(x, axis_name))
  k = scores.shape[-1]
  n = gsum(jnp.asarray(scores.shape[0], scores.dtype))
  q = jnp.exp((scores - gmax(jnp.max(scores))) / epsilon)  # [B, K]; the global max keeps exp in range
  q = q / gsum(jnp.sum(q))
  for _ in range(iterations):
    q = q / gsum(jnp.sum(q, axis=0, keepdims=True)) / k  # each prototype gets 1/K of the mass
    q = q / jnp.sum(q, axis=1, keepdims=True) / n  # each example 1/N
  return q * n


def swav_loss(scores1, scores2, codes1, codes2, temperature):
  """SwAV swapped prediction (eq. 1): ℓ = −½ Σ_k [q2_k log softmax(s1/τ)_k + q1_k log softmax(s2/τ)_k], per example."""
  l1 = -jnp.sum(lax.stop_gradient(codes2) * jax.nn.log_softmax(scores1 / temperature, axis=-1), axis=-1)
  l2 = -jnp.sum(lax.stop_gradient(codes1) * jax.nn.log_softmax(scores2 / temperature, axis=-1), axis=-1)
  return 0.5 * (l1 + l2)


def embedding_std(z):
  """SimSiam's collapse diagnostic (Chen & He 2021, §4.1): mean over dimensions of the std over rows of z/‖z‖;
  ≈ 1/√D for a healthy embedding, 0 for a collapsed one. z: [N, D] global batch."""
  zn = l2_normalize(z)
  return jnp.mean(jnp.std(zn, axis=0))


def effective_rank(z):
  """Roy & Vetterli (2007): exp(H(p)), p = σ/Σσ over the singular values σ of the centred [N, D] batch."""
  zc = z - jnp.mean(z, axis=0)
  sigma = jnp.linalg.svd(zc, compute_uv=False)  # not sqrt(eig(zcᵀzc)): the root amplifies rounding in tiny σ
  p = sigma / jnp.maximum(jnp.sum(sigma), jnp.finfo(sigma.dtype).tiny)
  return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))


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
