"""Label propagation and label spreading (graph-based semi-supervised): JAX core.

With label matrix Y (one-hot rows for labelled points, zeros otherwise):

  propagation (Zhu & Ghahramani 2002): F <- P F, then labelled rows reset to Y,
    P = W / rowsum(W);
  spreading (Zhou et al. 2004): F <- alpha S F + (1 - alpha) Y,
    S = D^-1/2 W' D^-1/2, W' = W without self-loops, D = column sums of W'.

W is either the RBF kernel exp(-gamma ||x_i - x_j||^2) (dense) or the kNN
connectivity graph (W_ij = 1 if j is among the k nearest points of i, i
itself included), exactly as scikit-learn builds them. Iterations stop when
sum |F - F_prev| < tol or after max_iter; the rows of F are then normalised.

Distances are computed on data centred and divided by a power of two s
(exact; gamma becomes gamma s^2), so that they neither overflow nor underflow
whatever the data's units. float64 data are fitted in float64, anything else
in float32; the float64 kNN ranks candidates in float32 under an error bound and
finishes in float64 (the same neighbours; _f64_by_f32).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ssljax.cluster import _sharding, kmeans, validation

_HI = lax.Precision.HIGHEST


class LPResult(NamedTuple):
  label_distributions: np.ndarray  # (N, C), rows sum to 1 (or are all 0)
  transduction: np.ndarray  # (N,) class indices
  n_iter: int


# ---------------------------------------------------------------------------
# Exact kNN.


def smallest_k(v, k):
  """(values, indices) of the k smallest entries of each row of v, ascending, ties to the lowest index; exact.

  float32 uses lax.top_k. For float64 (XLA:CPU's top_k is ~100x slower there) the candidates come from a float32
  top_k of c = min(2k + 8, m) entries: rounding to float32 is monotone, so the k exactly-smallest entries all
  round to at most t_k, the k-th smallest rounded value; when the c-th rounded value exceeds t_k every such
  entry is a candidate, and an exact float64 sort of the candidates finishes. Rows where it does not (many
  equal rounded values) fall back to an exact sort of the whole row.
  """
  q, m = v.shape
  if v.dtype == jnp.float32 or k >= m:
    if v.dtype == jnp.float32:
      neg, idx = lax.top_k(-v, k)
      return -neg, idx
    return _sort_smallest(v, jnp.broadcast_to(jnp.arange(m, dtype=jnp.int32), v.shape), k)
  c = min(2 * k + 8, m)
  _, cand = lax.top_k(-v.astype(jnp.float32), c)  # ascending rounded values
  vc = jnp.take_along_axis(v, cand, axis=1)
  rc = vc.astype(jnp.float32)  # (from the gathered values: reading top_k's own values made XLA:CPU sort instead)
  ok = jnp.all(rc[:, c - 1] > rc[:, k - 1])
  exact = lambda: _sort_smallest(vc, cand, k)
  full = lambda: _sort_smallest(v, jnp.broadcast_to(jnp.arange(m, dtype=jnp.int32), v.shape), k)
  return lax.cond(ok, exact, full)


def _sort_smallest(vals, idx, k):
  vals, idx = lax.sort((vals, idx.astype(jnp.int32)), dimension=1, num_keys=2)
  return vals[:, :k], idx[:, :k]


def _topk_smallest_blocked(d, k, block):
  """Exact k smallest per row of d (q, M) without a top-k over all M.

  Any row's k smallest values lie in the k blocks (of `block` columns) with
  the smallest block minima: a block holding one of them has its minimum at
  or below the k-th smallest value, and at most k blocks can. So: block
  minima, top-k over M / block of them, gather k * block candidates, top-k.
  """
  q, m = d.shape
  nb = m // block
  blocks = d.reshape(q, nb, block)
  _, bi = smallest_k(jnp.min(blocks, axis=2), k)  # (q, k)
  cand = jnp.take_along_axis(blocks, bi[:, :, None], axis=1)  # (q, k, block)
  col = bi[:, :, None] * block + jnp.arange(block, dtype=bi.dtype)
  v, j = smallest_k(cand.reshape(q, k * block), k)
  return v, jnp.take_along_axis(col.reshape(q, k * block), j, axis=1)


def _f64_by_f32(exact, select, p2, pn, k):
  """The float64 kNN of a query chunk from float32 distances, exactly where an error bound allows it.

  The rounding of q, p and ||p||^2 to float32 and the D-term dot move ||p||^2 - 2 q.p by less than
  E = g (||q|| max||p2|| + max||p||^2), g = 2 (D + 4) 2^-24, plus D 2^-120 below float32's normal range (the
  argument of kmeans._assign_f64). Take the c = k + 4 float32-nearest candidates: when the c-th is more than 2E
  beyond the k-th, every other point is further in float64 than the k candidates below it, so the k nearest are
  among the candidates, ranked by their float64 distances (ties to the lowest index). Otherwise the chunk is
  done in float64 throughout (`exact`).
  """
  f32 = jnp.float32
  m, d = p2.shape
  c = min(k + 4, m)
  finite = jnp.isfinite(pn)
  pnmax = jnp.max(jnp.where(finite, pn, 0.0))
  p2max = jnp.sqrt(jnp.max(jnp.where(finite, jnp.sum(p2 * p2, axis=1), 0.0)))
  p2_32, pn32 = p2.astype(f32), pn.astype(f32)

  def one(qc):
    d32 = jnp.dot(qc.astype(f32), p2_32.T, precision=_HI) + pn32[None]
    v, cand = select(d32, c)
    bound = kmeans.f32_distance_bound(jnp.sqrt(jnp.sum(qc * qc, axis=1)), p2max, pnmax, d)
    ok = jnp.all(v[:, c - 1].astype(qc.dtype) > v[:, k - 1].astype(qc.dtype) + 2 * bound)

    def from_candidates():
      vals = jnp.einsum('qd,qcd->qc', qc, p2[cand], precision=_HI) + pn[cand]
      return _sort_smallest(vals, cand, k)[1]

    return lax.cond(ok, from_candidates, lambda: exact(qc))

  return one


@functools.partial(jax.jit, static_argnames=('k', 'chunk', 'block'))
def _knn(queries, points, valid, *, k, chunk, block):
  m = points.shape[0]
  pad = (-m) % block
  dt = points.dtype
  pn = jnp.where(valid, jnp.sum(points * points, axis=1), jnp.inf)  # padding never wins
  pn = jnp.concatenate([pn, jnp.full((pad,), jnp.inf, dt)])
  pts = jnp.concatenate([points, jnp.zeros((pad, points.shape[1]), dt)])
  p2 = -2.0 * pts

  def select(d, k):
    if block > 1 and k * block < d.shape[1]:
      return _topk_smallest_blocked(d, k, block)
    return smallest_k(d, k)

  def one(qc):
    d = jnp.dot(qc, p2.T, precision=_HI) + pn[None]  # ||p||^2 - 2 q.p
    return select(d, k)[1]

  if dt == jnp.float64 and k < points.shape[0]:
    one = _f64_by_f32(one, select, p2, pn, k)

  n = queries.shape[0]
  qpad = (-n) % chunk
  qs = jnp.concatenate([queries, jnp.zeros((qpad, queries.shape[1]), dt)])
  out = lax.map(one, qs.reshape(-1, chunk, queries.shape[1]))
  return out.reshape(-1, k)[:n].astype(jnp.int32)


def _bucket(n, d):
  """Padded (rows, features) for small inputs, so that many share compiled kernels."""
  if n * d <= 1 << 16 and d < 64:
    return max(64, 1 << (n - 1).bit_length()), max(16, 1 << (d - 1).bit_length())
  return n, d


def _pad(a, n, d=None):
  d = a.shape[1] if d is None else d
  return np.pad(a, ((0, n - a.shape[0]), (0, d - a.shape[1])))


def _frame(points, queries=None):
  """(shift, scale): the points' mean and the power of two bringing points and queries to magnitude < 2."""
  shift = points.mean(0, dtype=np.float64)
  spread = max(np.max(np.abs(a - shift)) for a in ([points] if queries is None else [points, queries]))
  return shift, validation.pow2_scale(spread)


def _in_frame(a, shift, scale, dtype):
  return ((a - shift) / scale).astype(dtype)


@_sharding.x64
def knn(queries, points, k, *, chunk=256, block=32):
  """Indices (n, k) of the k nearest `points` of each query, nearest first."""
  queries = validation.check_array(queries, 'queries')
  points = validation.check_array(points, 'points', dtype=queries.dtype)
  validation.check_n_clusters(k, points.shape[0], 'n_neighbors')
  (nq, d), m = queries.shape, points.shape[0]
  shift, scale = _frame(points, queries)
  dt = queries.dtype
  nq_to, d_to = _bucket(nq, d)
  m_to, _ = _bucket(m, d)
  chunk = max(1, min(chunk, nq_to))
  block = block if m >= 4 * k * block else 1
  out = _knn(
    jnp.asarray(_pad(_in_frame(queries, shift, scale, dt), nq_to, d_to)),
    jnp.asarray(_pad(_in_frame(points, shift, scale, dt), m_to, d_to)),
    jnp.arange(m_to) < m,
    k=k,
    chunk=chunk,
    block=block,
  )
  return np.asarray(out)[:nq]


@jax.jit
def rbf_kernel(a, b, gamma):
  """exp(-gamma ||a_i - b_j||^2); gamma may be inf (then 1 at distance 0, else 0)."""
  d = jnp.maximum(jnp.sum(a * a, 1)[:, None] - 2.0 * jnp.dot(a, b.T, precision=_HI) + jnp.sum(b * b, 1)[None], 0.0)
  return jnp.exp(jnp.where(d > 0, -gamma * d, 0.0))


def _gamma_in_frame(gamma, scale, dtype):
  """gamma s^2, which may overflow to inf (every pair at a positive distance then gets weight 0, as exactly)."""
  with np.errstate(over='ignore'):
    return dtype.type(np.float64(gamma) * scale**2)


# ---------------------------------------------------------------------------
# Graph operators: F -> G F.


def _knn_operator(nbrs, variant, dtype):
  n, k = nbrs.shape
  if variant == 'propagation':
    return lambda f: jnp.mean(f[nbrs], axis=1)
  keep = (nbrs != jnp.arange(n)[:, None]).astype(dtype)  # drop self-loops
  deg = jax.ops.segment_sum(keep.reshape(-1), nbrs.reshape(-1), n)
  s = 1.0 / jnp.sqrt(jnp.where(deg > 0, deg, 1.0))
  return lambda f: s[:, None] * jnp.sum((f * s[:, None])[nbrs] * keep[:, :, None], axis=1)


def _dense_operator(w, variant):
  if variant == 'propagation':
    norm = jnp.sum(w, axis=1, keepdims=True)
    w = w / jnp.where(norm == 0, 1.0, norm)
  else:
    w = w * (1.0 - jnp.eye(w.shape[0], dtype=w.dtype))
    deg = jnp.sum(w, axis=0)
    s = 1.0 / jnp.sqrt(jnp.where(deg > 0, deg, 1.0))
    w = s[:, None] * w * s[None]
  return lambda f: jnp.dot(w, f, precision=_HI)


def _iterate(graph, y, alpha, max_iter, tol, variant):
  """scikit-learn's loop: test sum |F - F_prev| < tol, then update."""
  labelled = (y >= 0)[:, None]
  y0 = jnp.where(labelled, jax.nn.one_hot(jnp.maximum(y, 0), graph.n_classes, dtype=alpha.dtype), 0.0)
  static = y0 if variant == 'propagation' else (1.0 - alpha) * y0

  def update(f):
    g = graph.apply(f)
    if variant == 'propagation':
      norm = jnp.sum(g, axis=1, keepdims=True)
      g = g / jnp.where(norm == 0, 1.0, norm)
      return jnp.where(labelled, static, g)
    return alpha * g + static

  def cond(s):
    it, f, prev = s
    return (it < max_iter) & (jnp.sum(jnp.abs(f - prev)) >= tol)

  def body(s):
    it, f, _ = s
    return it + 1, update(f), f

  it, f, _ = lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), y0, jnp.zeros_like(y0)))
  norm = jnp.sum(f, axis=1, keepdims=True)
  f = f / jnp.where(norm == 0, 1.0, norm)
  return f, jnp.argmax(f, axis=1), it


class _Graph(NamedTuple):
  apply: object
  n_classes: int


@functools.partial(jax.jit, static_argnames=('n_classes', 'variant'))
def _fit_knn(nbrs, y, alpha, max_iter, tol, *, n_classes, variant):
  graph = _Graph(_knn_operator(nbrs, variant, alpha.dtype), n_classes)
  return _iterate(graph, y, alpha, max_iter, tol, variant)


@functools.partial(jax.jit, static_argnames=('n_classes', 'variant'))
def _fit_dense(w, y, alpha, max_iter, tol, *, n_classes, variant):
  graph = _Graph(_dense_operator(w, variant), n_classes)
  return _iterate(graph, y, alpha, max_iter, tol, variant)


@functools.partial(jax.jit, static_argnames=('n_classes', 'variant'))
def _fit_rbf(x, valid, y, gamma, alpha, max_iter, tol, *, n_classes, variant):
  w = rbf_kernel(x, x, gamma) * (valid[:, None] & valid[None, :])  # padding: no edges
  graph = _Graph(_dense_operator(w, variant), n_classes)
  return _iterate(graph, y, alpha, max_iter, tol, variant)


@_sharding.x64
def fit(
  x,
  y,
  n_classes=None,
  *,
  variant='spreading',
  kernel='rbf',
  gamma=20.0,
  n_neighbors=7,
  alpha=0.2,
  max_iter=30,
  tol=1e-3,
  nbrs=None,
  affinity=None,
):
  """Transductive label propagation / spreading.

  Args:
    x: (N, D) data or embeddings.
    y: (N,) class indices in [0, n_classes), -1 for unlabelled points.
    n_classes: C (default max(y) + 1).
    variant: 'spreading' or 'propagation'.
    kernel: 'rbf' (dense N x N, for moderate N) or 'knn'.
    gamma, n_neighbors, alpha, max_iter, tol: as scikit-learn.
    nbrs: optional precomputed (N, n_neighbors) kNN indices.
    affinity: optional dense (N, N) affinity W (overrides kernel).
  Returns:
    LPResult(label_distributions, transduction, n_iter); computed in x's dtype (float64 or float32).
  """
  if variant not in ('spreading', 'propagation'):
    raise ValueError(f"variant must be 'spreading' or 'propagation', got {variant!r}.")
  x = validation.check_array(x)
  dt = x.dtype
  y = np.asarray(y)
  if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
    raise ValueError(f'y must be ({x.shape[0]},) integers, got {y.shape} {y.dtype}.')
  n_classes = int(y.max()) + 1 if n_classes is None else n_classes
  if n_classes < 1 or (y < -1).any() or (y >= n_classes).any():
    raise ValueError(f'y must lie in [-1, {n_classes}) with at least one label.')
  if variant == 'spreading' and not 0 < alpha < 1:
    raise ValueError(f'alpha must be in (0, 1), got {alpha}.')
  validation.check_positive_int(max_iter, 'max_iter', allow_zero=True)
  # Small inputs are padded with unlabelled, unconnected rows (their F stays 0).
  n, d = x.shape
  n_to, d_to = _bucket(n, d)
  y_pad = np.concatenate([y, np.full(n_to - n, -1)]).astype(np.int32)
  args = (jnp.asarray(y_pad), jnp.asarray(alpha or 0.0, dt), jnp.int32(max_iter), jnp.asarray(tol, dt))
  if affinity is not None:
    w = validation.check_array(affinity, 'affinity', dtype=dt)
    if w.shape != (n, n):
      raise ValueError(f'affinity must be {(n, n)}, got {w.shape}.')
    f, t, it = _fit_dense(jnp.asarray(_pad(w, n_to, n_to)), *args, n_classes=n_classes, variant=variant)
  elif kernel == 'knn':
    nbrs = knn(x, x, n_neighbors) if nbrs is None else np.asarray(nbrs)
    own = np.repeat(np.arange(n, n_to, dtype=np.int32)[:, None], nbrs.shape[1], axis=1)
    nbrs = np.concatenate([nbrs.astype(np.int32), own])  # padding: self-loops only
    f, t, it = _fit_knn(jnp.asarray(nbrs), *args, n_classes=n_classes, variant=variant)
  elif kernel == 'rbf':
    if not gamma >= 0:
      raise ValueError(f'gamma must be >= 0, got {gamma}.')
    shift, scale = _frame(x)
    f, t, it = _fit_rbf(
      jnp.asarray(_pad(_in_frame(x, shift, scale, dt), n_to, d_to)),
      jnp.arange(n_to) < n,
      args[0],
      jnp.asarray(_gamma_in_frame(gamma, scale, dt)),
      *args[1:],
      n_classes=n_classes,
      variant=variant,
    )
  else:
    raise ValueError(f"kernel must be 'rbf' or 'knn', got {kernel!r}.")
  return LPResult(np.asarray(f)[:n], np.asarray(t)[:n], int(it))


@_sharding.x64
def predict_proba(x_train, label_distributions, x, *, kernel='rbf', gamma=20.0, n_neighbors=7):
  """Inductive class probabilities for new points (scikit-learn's rule), float64; computed in x's dtype."""
  x = validation.check_array(x)
  dt = x.dtype
  x_train = validation.check_array(x_train, dtype=dt)
  f = np.asarray(label_distributions, dt)
  if kernel == 'knn':
    p = np.asarray(jnp.sum(jnp.asarray(f)[knn(x, x_train, n_neighbors)], axis=1), np.float64)
  else:
    shift, scale = _frame(x_train, x)
    (n, d), m = x.shape, x_train.shape[0]
    n_to, d_to = _bucket(n, d)
    m_to = _bucket(m, d)[0]
    w = rbf_kernel(
      jnp.asarray(_pad(_in_frame(x, shift, scale, dt), n_to, d_to)),
      jnp.asarray(_pad(_in_frame(x_train, shift, scale, dt), m_to, d_to)),
      jnp.asarray(_gamma_in_frame(gamma, scale, dt)),
    )
    p = np.asarray(jnp.dot(w, jnp.asarray(_pad(f, m_to)), precision=_HI), np.float64)[:n]  # padded rows: F = 0
  norm = p.sum(1, keepdims=True)
  return p / np.where(norm == 0, 1.0, norm)


@_sharding.x64
def affinity_matrix(x, *, kernel='rbf', gamma=20.0, n_neighbors=7):
  """The dense (N, N) affinity W the fit uses (RBF or kNN connectivity), in x's dtype."""
  x = validation.check_array(x)
  n = x.shape[0]
  if kernel == 'knn':
    w = np.zeros((n, n), x.dtype)
    w[np.repeat(np.arange(n), n_neighbors), knn(x, x, n_neighbors).reshape(-1)] = 1.0
    return w
  shift, scale = _frame(x)
  xs = jnp.asarray(_in_frame(x, shift, scale, x.dtype))
  return np.asarray(rbf_kernel(xs, xs, jnp.asarray(_gamma_in_frame(gamma, scale, x.dtype))))


def graph_matrix(w, variant):
  """The operator G of F <- G F as a dense matrix (scikit-learn's _build_graph): W / rowsum(W) for propagation,
  D^-1/2 W' D^-1/2 (W' = W without self-loops) for spreading."""
  w = np.array(w, dtype=np.result_type(w.dtype, np.float32))
  if variant == 'propagation':
    norm = w.sum(axis=1, keepdims=True)
    return w / np.where(norm == 0, 1.0, norm)
  np.fill_diagonal(w, 0.0)
  deg = w.sum(axis=0)
  s = 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0))
  return s[:, None] * w * s[None]
