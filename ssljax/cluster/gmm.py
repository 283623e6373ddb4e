"""Gaussian mixtures fitted by EM: JAX core, rows sharded over devices.

Model: p(x) = sum_k pi_k N(x | mu_k, Sigma_k). With precision Cholesky
factors U_k (U_k U_k^T = Sigma_k^-1),

    log N(x | mu_k, Sigma_k) = -D/2 log 2pi + log|U_k| - 1/2 ||(x - mu_k) U_k||^2.

E-step (log space): r_ik = exp(log pi_k + log N_ik - logsumexp_k(...)).
M-step from the sufficient statistics N_k = sum_i r_ik, S_k = sum_i r_ik x_i,
Q_k = sum_i r_ik x_i x_i^T (per type):

    pi_k = N_k / N,  mu_k = S_k / N_k,  Sigma_k = Q_k / N_k - mu_k mu_k^T + reg I.

The lower bound is the mean log-likelihood (1/N) sum_i logsumexp_k(...) of
the E-step, as scikit-learn's. One pass over row chunks per iteration does the
E-step and accumulates the statistics; they are psummed over the mesh.
Responsibilities are kept transposed, (K, chunk), so that the reductions over
K (and over D for 'full') run down columns and the statistics are plain
(K, n) @ (n, .) matmuls; for 'full', Q_k comes from R^T Z with Z_i the upper
triangle of x_i x_i^T, built once per fit.

Semi-supervised EM: rows with a label y_i >= 0 keep r_i = onehot(y_i) and
contribute log pi_y + log N(x_i | y_i) to the likelihood.

The kernels see the data centred and divided by a power of two s (exact; see
`kmeans.prepare`): means and covariances scale by s and s^2, reg_covar by
1/s^2, and the log-likelihood shifts by -D log s, undone on the host. float64
data are fitted in float64, anything else in float32.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax.cluster import _sharding, kmeans, validation

AXIS = _sharding.AXIS
_HI = lax.Precision.HIGHEST
COVARIANCE_TYPES = ('full', 'tied', 'diag', 'spherical')


class Params(NamedTuple):
  weights: jax.Array  # (K,)
  means: jax.Array  # (K, D)
  prec_chol: jax.Array  # full (K,D,D), tied (D,D), diag (K,D), spherical (K,)


class GMMResult(NamedTuple):
  weights: np.ndarray
  means: np.ndarray
  covariances: np.ndarray
  precisions_cholesky: np.ndarray
  converged: bool
  lower_bound: float
  n_iter: int
  lower_bounds: tuple = ()  # the lower bound after each EM iteration of the kept restart


# ---------------------------------------------------------------------------
# Log densities.


def log_det_chol(pc, cov_type, d):
  """log |U| of the precision Cholesky factors, per component."""
  if cov_type == 'full':
    return jnp.sum(jnp.log(jnp.diagonal(pc, axis1=1, axis2=2)), axis=1)
  if cov_type == 'tied':
    return jnp.sum(jnp.log(jnp.diagonal(pc)))
  if cov_type == 'diag':
    return jnp.sum(jnp.log(pc), axis=1)
  return d * jnp.log(pc)


def log_gaussian(x, means, pc, cov_type):
  """log N(x_i | mu_k, Sigma_k), (n, K)."""
  d = x.shape[1]
  if cov_type in ('full', 'diag'):
    return _log_gaussian_t(x, means, pc, cov_type).T
  if cov_type == 'tied':
    y = jnp.dot(x, pc, precision=_HI)
    mu = jnp.dot(means, pc, precision=_HI)
    sq = jnp.sum((y[:, None, :] - mu[None]) ** 2, axis=-1)
  else:
    prec = pc**2
    sq = (
      jnp.sum(means**2, 1) * prec
      - 2.0 * jnp.dot(x, means.T, precision=_HI) * prec
      + jnp.sum(x * x, 1)[:, None] * prec[None]
    )
  return -0.5 * (d * math.log(2 * math.pi) + sq) + log_det_chol(pc, cov_type, d)


def _log_gaussian_t(x, means, pc, cov_type, x2=None):
  """log N(x_i | mu_k, Sigma_k) for 'full' and 'diag', transposed: (K, n); x2 = x * x if the caller has it.

  (K, .) @ (., n) puts K (and D) on major axes, so the sum over D and the
  log-sum-exp over K are column reductions, vectorised over the n rows.
  """
  k, d = means.shape
  if cov_type == 'full':  # all K factors in one (K·D, D) @ (D, n) matmul
    yt = jnp.dot(jnp.swapaxes(pc, 1, 2).reshape(k * d, d), x.T, precision=_HI).reshape(k, d, -1)
    mu = jnp.einsum('kd,kde->ke', means, pc, precision=_HI)
    sq = jnp.sum((yt - mu[:, :, None]) ** 2, axis=1)
  else:
    prec = pc**2
    sq = (
      jnp.sum(means**2 * prec, 1)[:, None]
      - 2.0 * jnp.dot(means * prec, x.T, precision=_HI)
      + jnp.dot(prec, (x * x if x2 is None else x2).T, precision=_HI)
    )
  return -0.5 * (d * math.log(2 * math.pi) + sq) + log_det_chol(pc, cov_type, d)[:, None]


def weighted_log_prob(x, params, cov_type):
  return log_gaussian(x, params.means, params.prec_chol, cov_type) + jnp.log(params.weights)


# ---------------------------------------------------------------------------
# Statistics and the M-step.


def _zero_stats(k, d, cov_type, dt):
  q = {'full': (k, d, d), 'tied': (d, d), 'diag': (k, d), 'spherical': (k, d)}[cov_type]
  return (jnp.zeros((k,), dt), jnp.zeros((k, d), dt), jnp.zeros(q, dt), jnp.zeros((), dt))


def _chunk_stats(xc, wrt, cov_type, zc=None):
  """N_k, S_k, Q_k of one chunk; wrt = (w_i r_ik)^T, (K, n); zc = _outer_upper(xc) for 'full' (Q_k's upper triangle)."""
  n, d = xc.shape
  k = wrt.shape[0]
  nk = jnp.sum(wrt, axis=1)
  sx = jnp.dot(wrt, xc, precision=_HI)
  if cov_type == 'full' and zc is not None:
    q = jnp.dot(wrt, zc, precision=_HI)  # (K, D(D+1)/2)
  elif cov_type == 'full':
    # Built already transposed: (K*D, n) @ (n, D).
    rxt = (wrt[:, None, :] * xc.T[None, :, :]).reshape(k * d, n)
    q = jnp.dot(rxt, xc, precision=_HI).reshape(k, d, d)
  elif cov_type == 'tied':
    q = jnp.dot((xc * jnp.sum(wrt, 0)[:, None]).T, xc, precision=_HI)
  else:
    q = jnp.dot(wrt, xc * xc if zc is None else zc, precision=_HI)
  return nk, sx, q


# 'full' second moments as R^T Z, Z_i the upper triangle of x_i x_i^T: half the FLOPs of the (K·D, n) r-weighted
# rows, and Z does not depend on r, so one fit builds it once and every EM iteration reuses it (when the per-device
# Z fits in _Z_MAX_BYTES; otherwise the (K·D, n) form is used).
# For 'diag', Z = x² (the E-step and the statistics both use it).
_Z_MAX_BYTES = 1 << 30


def _outer_upper(x):
  iu, ju = np.triu_indices(x.shape[-1])
  return x[..., iu] * x[..., ju]


def _sym_from_upper(qu, d):
  iu, ju = np.triu_indices(d)
  q = jnp.zeros(qu.shape[:-1] + (d, d), qu.dtype).at[..., iu, ju].set(qu)
  return q + jnp.swapaxes(q, -1, -2) * (1.0 - jnp.eye(d, dtype=qu.dtype))


def _use_z(xs, n_devices, cov_type):
  n, d = xs.shape[0] * xs.shape[1] // n_devices, xs.shape[2]
  width = {'full': d * (d + 1) // 2, 'diag': d}.get(cov_type)
  return width is not None and n * width * 4 <= _Z_MAX_BYTES


@functools.partial(jax.jit, static_argnums=1)
def _upper_products(xs, cov_type):
  """Z for every row, laid out (and sharded) like xs: the upper triangle of x xᵀ ('full') or x² ('diag')."""
  return _outer_upper(xs) if cov_type == 'full' else xs * xs


def m_step(nk, sx, q, reg_covar, cov_type):
  """Parameters from the statistics; returns (weights, means, covariances)."""
  nk = nk + 10 * jnp.finfo(nk.dtype).eps
  means = sx / nk[:, None]
  d = means.shape[1]
  if cov_type == 'full':
    cov = q / nk[:, None, None] - means[:, :, None] * means[:, None, :]
    cov = cov + reg_covar * jnp.eye(d, dtype=q.dtype)
  elif cov_type == 'tied':
    cov = (q - jnp.dot((nk[:, None] * means).T, means, precision=_HI)) / jnp.sum(nk)
    cov = cov + reg_covar * jnp.eye(d, dtype=q.dtype)
  else:
    cov = q / nk[:, None] - means**2 + reg_covar
    if cov_type == 'spherical':
      cov = jnp.mean(cov, axis=1)
  return nk / jnp.sum(nk), means, cov


# Cholesky and the triangular inverse written as XLA loops, not LAPACK calls: jnp.linalg.cholesky /
# solve_triangular are CPU custom calls, and inside the shard_mapped EM while-loop on several CPU devices the
# triangular solve deadlocked (jaxlib 0.10.2, 2 fake devices, D=32, K>=8; tests/test_cluster_sharded.py).
# Both are D sequential steps of batched vector work, negligible next to an E-step pass.


def cholesky(a):
  """Lower Cholesky factor of a batch of SPD matrices (..., D, D); NaN where a is not positive definite."""
  d = a.shape[-1]
  idx = jnp.arange(d)

  def column(j, l):
    s = a[..., :, j] - jnp.einsum('...ik,...k->...i', l, l[..., j, :], precision=_HI)
    ljj = jnp.sqrt(s[..., j])
    col = jnp.where(idx > j, s / ljj[..., None], jnp.where(idx == j, ljj[..., None], 0.0))
    return l.at[..., :, j].set(col)

  return lax.fori_loop(0, d, column, jnp.zeros_like(a))


def tril_inverse(l):
  """L^-1 of a batch of lower-triangular matrices, by forward substitution."""
  d = l.shape[-1]
  eye = jnp.eye(d, dtype=l.dtype)

  def row(i, x):
    r = (eye[i] - jnp.einsum('...k,...kj->...j', l[..., i, :], x, precision=_HI)) / l[..., i, i][..., None]
    return x.at[..., i, :].set(r)

  return lax.fori_loop(0, d, row, jnp.zeros_like(l))


def precision_cholesky(cov, cov_type):
  """U with U U^T = Sigma^-1: the inverse of the covariance's Cholesky factor, transposed."""
  if cov_type in ('full', 'tied'):
    return jnp.swapaxes(tril_inverse(cholesky(cov)), -1, -2)
  return jnp.where(cov > 0, 1.0 / jnp.sqrt(jnp.where(cov > 0, cov, 1.0)), jnp.nan)


def _resp_t(xc, yc, params, cov_type, zc=None):
  """Responsibilities, transposed (K, n), and per-row log-likelihood, with labelled rows clamped."""
  if cov_type in ('full', 'diag'):  # built transposed; zc = xc² for 'diag' (once per fit)
    wlp = (
      _log_gaussian_t(xc, params.means, params.prec_chol, cov_type, zc if cov_type == 'diag' else None)
      + jnp.log(params.weights)[:, None]
    )
  else:
    wlp = weighted_log_prob(xc, params, cov_type).T
  lpn = jax.nn.logsumexp(wlp, axis=0)
  r = jnp.exp(wlp - lpn[None, :])
  k = wlp.shape[0]
  lab = yc >= 0
  onehot = jax.nn.one_hot(jnp.where(lab, yc, 0), k, dtype=wlp.dtype).T
  r = jnp.where(lab[None, :], onehot, r)
  ll = jnp.where(lab, jnp.sum(onehot * wlp, 0), lpn)
  return r, ll


def _em_pass(xs, ws, ys, params, cov_type, zs=None):
  k, d = params.means.shape

  def step(acc, inp):
    xc, wc, yc, zc = inp
    rt, ll = _resp_t(xc, yc, params, cov_type, zc)
    stats = _chunk_stats(xc, rt * wc[None, :], cov_type, zc)
    return tuple(a + s for a, s in zip(acc, stats + (jnp.sum(wc * ll),))), None

  return _scan_stats(step, xs, ws, ys, zs, k, d, cov_type)


def _resp_pass(xs, ws, rs, cov_type):
  k = rs.shape[-1]
  d = xs.shape[-1]

  def step(acc, inp):
    xc, wc, rc, zc = inp
    stats = _chunk_stats(xc, (rc * wc[:, None]).T, cov_type, zc)
    return tuple(a + s for a, s in zip(acc, stats + (jnp.zeros((), xs.dtype),))), None

  return _scan_stats(step, xs, ws, rs, None, k, d, cov_type)


def _scan_stats(step, xs, ws, third, zs, k, d, cov_type):
  """Runs `step` over the chunks, psums the statistics over the mesh; Q comes back as (K, D, D) for 'full'."""
  upper = zs is not None and cov_type == 'full'  # Q accumulated as its upper triangle, R^T Z
  init = _zero_stats(k, d, cov_type, xs.dtype)
  if upper:
    init = init[:2] + (jnp.zeros((k, d * (d + 1) // 2), xs.dtype),) + init[3:]
  acc, _ = lax.scan(step, init, (xs, ws, third, zs))
  nk, sx, q, ll = lax.psum(acc, AXIS)
  return nk, sx, (_sym_from_upper(q, d) if upper else q), ll


def _em(xs, ws, ys, zs, params, max_iter, tol, reg_covar, lb0, *, cov_type, history):
  """EM iterations with scikit-learn's stopping rule |lb - lb_prev| < tol; lb0 is the previous fit's bound
  (warm start) or -inf. Also returns the first `history` lower bounds."""
  n_total = lax.psum(jnp.sum(ws), AXIS)

  def cond(s):
    it, _, lb, prev, failed, _ = s
    return (it < max_iter) & ~(jnp.abs(lb - prev) < tol) & ~failed

  def body(s):
    it, p, lb, _, _, lbs = s
    nk, sx, q, ll = _em_pass(xs, ws, ys, p, cov_type, zs)
    weights, means, cov = m_step(nk, sx, q, reg_covar, cov_type)
    pc = precision_cholesky(cov, cov_type)
    failed = ~jnp.all(jnp.isfinite(pc))
    new = ll / n_total
    lbs = lbs.at[jnp.minimum(it, history - 1)].set(new)
    return it + 1, Params(weights, means, pc), new, lb, failed, lbs

  dt = xs.dtype
  init = (
    jnp.zeros((), jnp.int32),
    params,
    jnp.asarray(lb0, dt),
    jnp.full((), -jnp.inf, dt),
    jnp.zeros((), bool),
    jnp.full((history,), -jnp.inf, dt),
  )
  it, params, lb, prev, failed, lbs = lax.while_loop(cond, body, init)
  return params, lb, it, jnp.abs(lb - prev) < tol, failed, lbs


@functools.partial(jax.jit, static_argnames=('mesh', 'cov_type', 'history'))
def _em_sharded(xs, ws, ys, zs, params, max_iter, tol, reg_covar, lb0, *, mesh, cov_type, history):
  f = jax.shard_map(
    functools.partial(_em, cov_type=cov_type, history=history),
    mesh=mesh,
    in_specs=(P(AXIS), P(AXIS), P(AXIS), P(AXIS), P(), P(), P(), P(), P()),
    out_specs=P(),
    check_vma=False,
  )
  return f(xs, ws, ys, zs, params, max_iter, tol, reg_covar, lb0)


@functools.partial(jax.jit, static_argnames=('mesh', 'cov_type'))
def _init_sharded(xs, ws, rs, reg_covar, *, mesh, cov_type):
  f = jax.shard_map(
    lambda xs, ws, rs: _resp_pass(xs, ws, rs, cov_type),
    mesh=mesh,
    in_specs=(P(AXIS), P(AXIS), P(AXIS)),
    out_specs=P(),
    check_vma=False,
  )
  nk, sx, q, _ = f(xs, ws, rs)
  weights, means, cov = m_step(nk, sx, q, reg_covar, cov_type)
  return weights, means, precision_cholesky(cov, cov_type)  # inside the jit: the loops compile once


# ---------------------------------------------------------------------------
# Public API.


def _covariance_from_chol(pc, cov_type):
  """Sigma = (U U^T)^-1 for the returned parameters, float64."""
  pc = np.asarray(pc, np.float64)
  if cov_type == 'full':
    return np.stack([np.linalg.inv(u @ u.T) for u in pc])
  if cov_type == 'tied':
    return np.linalg.inv(pc @ pc.T)
  return 1.0 / pc**2


def check_init_params(k, d, cov_type, weights=None, means=None, precisions=None):
  """scikit-learn's checks of weights_init, means_init and precisions_init, with its messages; float64 copies."""
  if weights is not None:
    w = np.asarray(weights)
    w = w if w.dtype in (np.float32, np.float64) else w.astype(np.float64)  # checked in its own dtype, as scikit-learn
    _check_shape(w, (k,), 'weights')
    if (w < 0).any() or (w > 1).any():
      raise ValueError(
        "The parameter 'weights' should be in the range [0, 1], but got max value "
        f'{np.min(w):.5f}, min value {np.max(w):.5f}'
      )
    if not np.allclose(float(np.abs(1.0 - np.sum(w))), 0.0, atol=1e-6 if w.dtype == np.float32 else 1e-8):
      raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {np.sum(w):.5f}")
    weights = w.astype(np.float64)
  if means is not None:
    means = validation.check_array(means, 'means_init', dtype=np.float64)
    _check_shape(means, (k, d), 'means')
  if precisions is not None:
    p = np.asarray(precisions, np.float64)
    shape = {'full': (k, d, d), 'tied': (d, d), 'diag': (k, d), 'spherical': (k,)}[cov_type]
    _check_shape(p, shape, f'{cov_type} precision')
    if not np.isfinite(p).all():
      raise ValueError(f"'{cov_type} precision' contains NaN or Inf.")
    if cov_type in ('diag', 'spherical'):
      if (p <= 0).any():
        raise ValueError(f"'{cov_type} precision' should be positive")
    else:
      for m in p.reshape(-1, d, d):
        if not (np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0.0)):
          raise ValueError(f"'{cov_type} precision' should be symmetric, positive-definite")
    precisions = p
  return weights, means, precisions


def _check_shape(a, shape, name):
  if a.shape != shape:
    raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {a.shape}")


def chol_from_precisions(precisions, cov_type):
  """Upper-triangular precision factors U (U U^T = P) of given precisions, float64, as scikit-learn's.

  The Cholesky factor of P with rows and columns reversed, reversed back: upper triangular like the factors
  the M-step produces (the inverse transposed Cholesky factor of the covariance).
  """
  p = np.asarray(precisions, np.float64)
  if cov_type in ('full', 'tied'):
    return np.linalg.cholesky(p[..., ::-1, ::-1])[..., ::-1, ::-1]
  return np.sqrt(p)


def _chunk_rows(a, prep, fill):
  """Lays a per-row array out like prep.xs (padding with `fill`)."""
  n_chunks, chunk = prep.ws.shape
  out = np.full((n_chunks * chunk,) + a.shape[1:], fill, a.dtype)
  out[: prep.n] = a
  out = out.reshape((n_chunks, chunk) + a.shape[1:])
  return jax.device_put(out, jax.sharding.NamedSharding(prep.mesh, P(AXIS)))


def _ill_defined():
  return ValueError(
    'Fitting the mixture model failed because some components have '
    'ill-defined empirical covariance (for instance caused by singleton or '
    'collapsed samples). Try to decrease the number of components, increase '
    'reg_covar, or scale the input data.'
  )


@_sharding.x64
def fit(
  x,
  n_components,
  *,
  covariance_type='full',
  tol=1e-3,
  reg_covar=1e-6,
  max_iter=100,
  n_init=1,
  init_params='kmeans',
  resp_init=None,
  weights_init=None,
  means_init=None,
  precisions_init=None,
  lower_bound_init=-np.inf,
  labels=None,
  key=None,
  mesh=None,
  chunk=None,
):
  """Fits a Gaussian mixture by EM, keeping the restart with the best bound.

  Args:
    x: (N, D) data.
    n_components: K.
    covariance_type: 'full', 'tied', 'diag' or 'spherical'.
    tol, reg_covar, max_iter, n_init: as scikit-learn's GaussianMixture.
    init_params: 'kmeans' (one-hot k-means labels) or 'random' (uniform
      responsibilities, normalised); used when resp_init is None.
    resp_init: optional (N, K) or (n_init, N, K) initial responsibilities.
    weights_init, means_init, precisions_init: override the parameters
      computed from the initial responsibilities (scikit-learn's semantics:
      the covariances still come from the responsibilities).
    lower_bound_init: the bound the first iteration's change is measured
      from (a warm start passes the previous fit's lower bound).
    labels: optional (N,) ints in [-1, K): rows with y >= 0 keep one-hot
      responsibilities (semi-supervised EM); -1 marks unlabelled rows.
    key: jax PRNG key for the initialisations.
    mesh, chunk: device mesh and rows per block (default 1024 for 'full',
      4096 otherwise).
  Returns:
    GMMResult (float64 parameters); `lower_bound` is the mean log-likelihood at the last E-step.
  """
  if covariance_type not in COVARIANCE_TYPES:
    raise ValueError(f'covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}.')
  if not (isinstance(reg_covar, (int, float)) and reg_covar >= 0):
    raise ValueError(f'reg_covar must be a non-negative float, got {reg_covar!r}.')
  validation.check_positive_int(max_iter, 'max_iter', allow_zero=True)
  validation.check_positive_int(n_init, 'n_init')
  chunk = (1024 if covariance_type == 'full' else 4096) if chunk is None else chunk
  x = validation.check_array(x)
  validation.check_n_clusters(n_components, x.shape[0], 'n_components')
  weights_init, means_init, precisions_init = check_init_params(
    n_components, x.shape[1], covariance_type, weights_init, means_init, precisions_init
  )
  _, scale = validation.center_scale(x)
  reg = x.dtype.type(reg_covar / scale**2)  # reg_covar in kernel units
  # Small inputs get zero feature columns (shared compiled kernels). A padded
  # dimension has mean 0 and variance reg, is independent of the others,
  # and adds the same constant to every log N(x_i | k): responsibilities and
  # the fit are unchanged, and the constant is taken off the lower bound.
  pad_ok = reg > 1e6 * np.finfo(x.dtype).tiny and covariance_type != 'spherical'
  prep = kmeans.prepare(x, mesh=mesh, chunk=chunk, pad_features=pad_ok)
  k, d, n, s = n_components, prep.d, prep.n, prep.scale
  dt = prep.dtype
  n_pad = prep.xs.shape[-1] - d
  pad_const = n_pad * float(-0.5 * np.log(2 * np.pi) - 0.5 * np.log(reg)) if n_pad else 0.0
  ys = np.full((n,), -1, np.int32) if labels is None else np.asarray(labels)
  if ys.shape != (n,) or not np.issubdtype(ys.dtype, np.integer):
    raise ValueError(f'labels must be ({n},) integers, got {ys.shape} {ys.dtype}.')
  if ((ys < -1) | (ys >= k)).any():
    raise ValueError(f'labels must lie in [-1, {k}), got values in [{ys.min()}, {ys.max()}].')
  y_host = ys.astype(np.int32)
  ys = _chunk_rows(y_host, prep, -1)
  key = jax.random.key(0) if key is None else key
  cov_type = covariance_type
  history = max(1, 1 << (max(max_iter, 1) - 1).bit_length())  # a power of two: few compiled variants

  best, zs = None, None
  for i in range(n_init):
    key, sub = jax.random.split(key)
    if resp_init is not None:
      r = np.asarray(resp_init, dt)
      r = r[i] if r.ndim == 3 else r
    elif init_params == 'kmeans':
      lab = kmeans.fit(prep, k, key=sub).labels
      r = np.eye(k, dtype=dt)[lab]
    elif init_params == 'random':
      r = np.array(jax.random.uniform(sub, (n, k), dt))  # a writable copy
      r /= r.sum(1, keepdims=True)
    else:
      raise ValueError(f"init_params must be 'kmeans' or 'random', got {init_params!r}.")
    if r.shape != (n, k):
      raise ValueError(f'resp_init must have shape {(n, k)}, got {r.shape}.')
    if labels is not None:
      r = _clamp_init(r, y_host, k)
    if weights_init is None or means_init is None or precisions_init is None:
      weights, means, pc = _init_sharded(
        prep.xs, prep.ws, _chunk_rows(r, prep, 0.0), jnp.asarray(reg, dt), mesh=prep.mesh, cov_type=cov_type
      )
    # else: all three given; scikit-learn's statistics from r would be overridden, so skip the pass.
    if weights_init is not None:
      weights = jnp.asarray(weights_init, dt)
    if labels is not None and means_init is None:
      means = jnp.asarray(_labelled_means(np.array(means), x, y_host, prep))
    if means_init is not None:
      means = jnp.asarray(prep.pad(means_init))
    if precisions_init is not None:
      pc_k = chol_from_precisions(precisions_init, cov_type) * s  # P' = P s^2 in kernel units
      pc = jnp.asarray(_pad_chol(pc_k.astype(dt), n_pad, reg, cov_type))
    if not bool(jnp.all(jnp.isfinite(pc))):
      raise _ill_defined()
    params = Params(weights, means, pc)
    if max_iter == 0:
      out = (params, -np.inf, 0, False, False, np.zeros(0))
    else:
      if zs is None and _use_z(prep.xs, prep.mesh.size, cov_type):
        zs = _upper_products(prep.xs, cov_type)  # once per fit, shared by the restarts
      lb0 = (lower_bound_init + d * np.log(s) + pad_const) if np.isfinite(lower_bound_init) else -np.inf
      out = _em_sharded(
        prep.xs,
        prep.ws,
        ys,
        zs,
        params,
        jnp.int32(max_iter),
        jnp.asarray(tol, dt),
        jnp.asarray(reg, dt),
        jnp.asarray(lb0, dt),
        mesh=prep.mesh,
        cov_type=cov_type,
        history=history,
      )
    params, lb, it, converged, failed, lbs = out
    if bool(failed):
      raise _ill_defined()
    shift = d * np.log(s) + pad_const  # kernel-unit bound - data-unit bound
    lb = float(lb) - shift
    if best is None or lb > best[1] or best[1] == -np.inf:
      lbs = tuple(float(v) - shift for v in np.asarray(lbs)[: min(int(it), history)])
      best = (params, lb, int(it), bool(converged), lbs)

  params, lb, it, converged, lbs = best
  pc = _unpad_chol(np.asarray(params.prec_chol, np.float64), d, cov_type) / s
  return GMMResult(
    np.asarray(params.weights, np.float64),
    prep.unpad(params.means),
    _covariance_from_chol(pc, cov_type),
    pc,
    converged,
    lb,
    it,
    lbs,
  )


def _clamp_init(r, y, k):
  """Initial responsibilities with labelled rows set to their one-hot label."""
  r = r.copy()
  lab = y >= 0
  r[lab] = np.eye(k, dtype=r.dtype)[y[lab]]
  return r


def _labelled_means(means, x, y, prep):
  """Starts each labelled component at the mean of its labelled points (kernel units)."""
  x = np.asarray(x, np.float64)
  for c in np.unique(y[y >= 0]):
    means[c, : x.shape[1]] = (x[y == c].mean(0) - prep.mean) / prep.scale
  return means


def _pad_chol(pc, n_pad, reg, cov_type):
  """Precision factors for padded dimensions: 1 / sqrt(reg), block-diagonal."""
  if not n_pad:
    return pc
  v = pc.dtype.type(1.0 / np.sqrt(reg))
  if cov_type == 'diag':
    return np.pad(pc, ((0, 0), (0, n_pad)), constant_values=v)
  d = pc.shape[-1]
  out = np.zeros(pc.shape[:-2] + (d + n_pad, d + n_pad), pc.dtype)
  out[..., :d, :d] = pc
  idx = np.arange(d, d + n_pad)
  out[..., idx, idx] = v
  return out


def _unpad_chol(pc, d, cov_type):
  if cov_type in ('full', 'tied'):
    return pc[..., :d, :d]
  return pc[:, :d] if cov_type == 'diag' else pc


@functools.partial(jax.jit, static_argnames=('cov_type',))
def _wlp(x, weights, means, pc, *, cov_type):
  return weighted_log_prob(x, Params(weights, means, pc), cov_type)


@_sharding.x64
def weighted_log_probs(x, weights, means, precisions_cholesky, cov_type):
  """log pi_k + log N(x_i | k), (N, K), float64, for fitted parameters; computed in x's dtype.

  x and the means are centred on the means' mean and divided by a power of two s (exact; the precision
  factors are multiplied by s and D log s is added back on the host). Small inputs are padded (rows to a power
  of two; features, with unit precision, which adds exactly -1/2 log 2 pi per padded feature) so that many
  small calls share compiled kernels.
  """
  x = validation.check_array(x)
  dt = x.dtype
  n, d = x.shape
  means = np.asarray(means, np.float64)
  shift = means.mean(axis=0)
  spread = max(np.max(np.abs(x - shift)), np.max(np.abs(means - shift)))
  s = validation.pow2_scale(spread)
  x, means = ((x - shift) / s).astype(dt), ((means - shift) / s).astype(dt)
  pc = (np.asarray(precisions_cholesky, np.float64) * s).astype(dt)
  n_pad = d_pad = 0
  if n * d <= 1 << 16 and d < 64 and cov_type != 'spherical':
    n_pad = max(64, 1 << (n - 1).bit_length()) - n
    d_pad = max(16, 1 << (d - 1).bit_length()) - d
    x = np.pad(x, ((0, n_pad), (0, d_pad)))
    means = np.pad(means, ((0, 0), (0, d_pad)))
    if cov_type == 'diag':
      pc = np.pad(pc, ((0, 0), (0, d_pad)), constant_values=1.0)
    else:
      out = np.zeros(pc.shape[:-2] + (d + d_pad,) * 2, dt)
      out[..., :d, :d] = pc
      out[..., np.arange(d, d + d_pad), np.arange(d, d + d_pad)] = 1.0
      pc = out
  w = np.asarray(
    _wlp(jnp.asarray(x), jnp.asarray(weights, dt), jnp.asarray(means), jnp.asarray(pc), cov_type=cov_type), np.float64
  )
  return w[:n] + 0.5 * d_pad * math.log(2 * math.pi) - d * math.log(s)


def n_parameters(k, d, cov_type):
  """Free parameters: covariances + means + (K - 1) weights."""
  cov = {'full': k * d * (d + 1) / 2, 'diag': k * d, 'tied': d * (d + 1) / 2, 'spherical': k}[cov_type]
  return int(cov + k * d + k - 1)
