"""k-means (Lloyd), k-means++ seeding, mini-batch updates: JAX core.

Objective, for weights w_i and centres c_k:

    inertia = sum_i w_i min_k ||x_i - c_k||^2.

Each Lloyd iteration assigns every point to its nearest centre, then moves
each centre to the weighted mean of its points. Rows are sharded over a 1-D
device mesh; each device walks its rows in chunks, computing the K x chunk
block of ||c||^2 - 2 c.x (the -2 is folded into the centres, exact), an exact
one-pass argmin, and partial counts and sums that are `psum`med.

The data are centred on the host first (as scikit-learn does), which keeps the
expanded distance accurate, and divided by a power of two that brings the
largest magnitude to [1, 2) (exact), so that squared distances neither
overflow nor underflow whatever the data's units. float64 data are fitted in
float64, anything else in float32; float64 distance blocks are ranked in
float32 under an error bound, and only the rows it cannot decide are
recomputed in float64 (the labels are the float64 ones; _assign_f64).
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from ssljax.cluster import _sharding, validation

AXIS = _sharding.AXIS
_HI = lax.Precision.HIGHEST  # keeps f32 dots exact on GPUs (no TF32)


class KMeansResult(NamedTuple):
  centers: np.ndarray  # (K, D)
  labels: np.ndarray  # (N,)
  inertia: float
  n_iter: int


# ---------------------------------------------------------------------------
# Exact one-pass argmin.


def _order_bits(d):
  """float32 -> int32 whose signed order equals the float order (-0.0 and 0.0 both map to 0)."""
  b = lax.bitcast_convert_type(d, jnp.int32)
  return jnp.where(b < 0, -(b & jnp.int32(0x7FFFFFFF)), b)


def _from_order_bits(b):
  b = jnp.where(b < 0, (-b) | jnp.int32(-0x80000000), b)
  return lax.bitcast_convert_type(b, jnp.float32)


def argmin0(d):
  """(min, argmin) over axis 0 of a (K, n) block; for float32 in one reduce.

  Key = order_bits(d) << 32 | k as int64, so a single integer min gives the
  smallest value and, among ties, the lowest index (numpy's rule). Needs
  64-bit ints while tracing.

  The K rows are first folded into K/4 by elementwise minima of 4 row slices
  (min is associative, so the result is the same): XLA:CPU splits a reduce for
  its threads and then materialises the reduce's input, and folding first
  makes that int64 input 4x smaller (8 or more slices made XLA fuse the whole
  reduce into a slower loop; figures in benchmarks/README.md).
  float64 has no spare bits for the index: the min, then the lowest index
  holding it (two plain reduces; XLA's variadic argmin reduce is slower).
  """
  if d.dtype != jnp.float32:
    m = jnp.min(d, axis=0)
    idx = jnp.arange(d.shape[0], dtype=jnp.int32)[:, None]
    return m, jnp.min(jnp.where(d == m[None], idx, d.shape[0]), axis=0)
  k = d.shape[0]
  s = _slices(k)
  g = k // s
  key = None
  for j in range(s):
    idx = jnp.arange(j * g, (j + 1) * g, dtype=jnp.int64)[:, None]
    kj = (_order_bits(d[j * g : (j + 1) * g]).astype(jnp.int64) << 32) | idx
    key = kj if key is None else jnp.minimum(key, kj)
  m = jnp.min(key, axis=0)
  return _from_order_bits((m >> 32).astype(jnp.int32)), (m & 0xFFFFFFFF).astype(jnp.int32)


def _assign(xc, c2, cn):
  """Labels and ||c||^2 - 2 x.c minima for a chunk; c2 = -2 C."""
  if xc.dtype == jnp.float64:
    return _assign_f64(xc, c2, cn)
  d = jnp.dot(c2, xc.T, precision=_HI) + cn[:, None]  # (K, n)
  return argmin0(d)


def f32_distance_bound(x_norm, c2_norm_max, cn_max, d):
  """E: how far rounding to float32 can move ||c||^2 - 2 x.c = cn + c2.x for D-dim rows of norm x_norm (see
  _assign_f64): 2 (D + 4) u (max||c2|| ||x|| + max|cn|), u = 2^-24, plus D 2^-120 below float32's normal range."""
  return (d + 4) * 2.0**-23 * (c2_norm_max * x_norm + cn_max) + d * 2.0**-120


def _slices(k):
  """How many row slices a (K, n) reduce is folded into first (XLA:CPU's reduce; see argmin0)."""
  return next(s for s in (4, 2, 1) if k % s == 0)


# Rows of a float64 chunk whose float32 winner could differ from the float64 one, recomputed in float64 one by one
# (gathered) up to this many per chunk; beyond it the whole chunk is.
_F64_REFINE_ROWS = 64


def _assign_f64(xc, c2, cn):
  """The float64 labels of _assign, exactly, at about float32 speed.

  The distance block is computed in float32 with an error bound per row: rounding x and C to float32 (3u per
  product), a D-term dot (D u times the sum of |c2_kj x_j| <= ||c2_k|| ||x||, Cauchy-Schwarz), rounding ||c_k||^2
  and the sum (u each, |d_k| <= max|cn| + max||c2|| ||x||) move ||c_k||^2 - 2 x.c_k by less than
  E = g (max||c2|| ||x|| + max|cn|) with g = 2 (D + 4) u, u = 2^-24 (the factor 2 covers any summation order and
  the rounding of the threshold), plus an absolute D 2^-120 for values below float32's normal range (the data are
  scaled to |x| < 2, so nothing overflows). Where no other centre is within 2E of the float32 minimum, the float64
  order is the float32 one; the other rows (ties included) get their float64 distances and numpy's lowest-index rule.
  """
  f32 = jnp.float32
  k, d = c2.shape
  d32 = jnp.dot(c2.astype(f32), xc.astype(f32).T, precision=_HI) + cn.astype(f32)[:, None]  # (K, n)
  m32, lab = argmin0(d32)
  xn = jnp.sqrt(jnp.sum(xc * xc, axis=1))
  bound = f32_distance_bound(xn, jnp.max(jnp.sqrt(jnp.sum(c2 * c2, axis=1))), jnp.max(jnp.abs(cn)), d)
  thr = (m32 + 2 * bound).astype(f32)[None, :]  # the cast's rounding is inside the factor 2
  # Centres within 2E of the minimum, counted on row slices folded first (as argmin0).
  s = _slices(k)
  near = sum((d32[j * (k // s) : (j + 1) * (k // s)] <= thr).astype(jnp.int32) for j in range(s))
  unsure = jnp.sum(near, axis=0) > 1
  count = jnp.sum(unsure)

  def some_rows():
    idx = jnp.nonzero(unsure, size=_F64_REFINE_ROWS, fill_value=xc.shape[0])[0]
    rows = xc[jnp.minimum(idx, xc.shape[0] - 1)]
    _, sub = argmin0(jnp.dot(c2, rows.T, precision=_HI) + cn[:, None])
    return lab.at[idx].set(sub, mode='drop')

  def every_row():
    return argmin0(jnp.dot(c2, xc.T, precision=_HI) + cn[:, None])[1]

  lab = lax.cond(count == 0, lambda: lab, lambda: lax.cond(count <= _F64_REFINE_ROWS, some_rows, every_row))
  dmin = cn[lab] + jnp.sum(c2[lab] * xc, axis=1)
  return dmin, lab


# ---------------------------------------------------------------------------
# Per-device passes over chunks (run inside shard_map).


def _stats_pass(xs, ws, labels_old, centers, with_inertia=False):
  """One assignment pass: counts, sums, #changed labels, inertia of the old centres (psummed), labels.

  The inertia is computed only `with_inertia` (verbose fits print it); it is 0 otherwise.
  """
  k, d = centers.shape
  dt = xs.dtype
  c2, cn = -2.0 * centers, jnp.sum(centers * centers, axis=1)

  def step(carry, inp):
    counts, sums, changed, inertia = carry
    xc, wc, lo = inp
    dmin, lab = _assign(xc, c2, cn)
    counts = counts + jax.ops.segment_sum(wc, lab, k)
    sums = sums + jax.ops.segment_sum(xc * wc[:, None], lab, k)
    changed = changed + jnp.sum((lab != lo) & (wc > 0), dtype=jnp.int32)
    if with_inertia:
      inertia = inertia + jnp.sum(wc * jnp.maximum(dmin + jnp.sum(xc * xc, axis=1), 0.0))
    return (counts, sums, changed, inertia), lab

  init = (jnp.zeros((k,), dt), jnp.zeros((k, d), dt), jnp.zeros((), jnp.int32), jnp.zeros((), dt))
  (counts, sums, changed, inertia), labels = lax.scan(step, init, (xs, ws, labels_old))
  counts, sums, changed, inertia = lax.psum((counts, sums, changed, inertia), AXIS)
  return counts, sums, changed, inertia, labels


def _relocate(xs, ws, labels, centers, counts, sums):
  """Moves empty clusters to the points farthest from their centres.

  As scikit-learn: the j-th empty cluster (by index) takes the j-th farthest
  point, which leaves its old cluster (its weight and sum are removed); when
  every point sits on its centre (more clusters than distinct points) nothing
  moves.
  """
  k, d = centers.shape
  dt = xs.dtype
  m = min(k, xs.shape[1])

  def step(best, inp):
    xc, wc, lab = inp
    dist = jnp.sum((xc - centers[lab]) ** 2, axis=1)
    dist = jnp.where(wc > 0, dist, -jnp.inf)
    v = jnp.concatenate([best[0], dist])
    v, idx = lax.top_k(v, m)
    cat = lambda a, b: jnp.concatenate([a, b])[idx]
    return (v, cat(best[1], xc), cat(best[2], wc), cat(best[3], lab)), None

  init = (
    jnp.full((m,), -jnp.inf, dt),
    jnp.zeros((m, d), dt),
    jnp.zeros((m,), dt),
    jnp.zeros((m,), jnp.int32),
  )
  best, _ = lax.scan(step, init, (xs, ws, labels))
  v, xf, wf, lf = (lax.all_gather(b, AXIS, tiled=True) for b in best)
  v, idx = lax.top_k(v, m)
  xf, wf, lf = xf[idx], wf[idx], lf[idx]

  empty = counts == 0
  rank = jnp.clip(jnp.cumsum(empty) - 1, 0, m - 1)
  take = empty & (jnp.cumsum(empty) <= m) & (v[rank] > -jnp.inf) & (v[0] > 0)
  xr, wr, lr = xf[rank], jnp.where(take, wf[rank], 0.0), lf[rank]
  sums = sums - jax.ops.segment_sum(xr * wr[:, None], lr, k)
  counts = counts - jax.ops.segment_sum(wr, lr, k)
  sums = jnp.where(take[:, None], xr * wr[:, None], sums)
  counts = jnp.where(take, wr, counts)
  return counts, sums


def _final_pass(xs, ws, centers):
  """Labels and exact inertia sum_i w_i ||x_i - c_{l_i}||^2 (psummed)."""
  c2, cn = -2.0 * centers, jnp.sum(centers * centers, axis=1)

  def step(total, inp):
    xc, wc = inp
    _, lab = _assign(xc, c2, cn)
    r = jnp.sum((xc - centers[lab]) ** 2, axis=1)
    return total + jnp.sum(wc * r), lab

  total, labels = lax.scan(step, jnp.zeros((), xs.dtype), (xs, ws))
  return labels, lax.psum(total, AXIS)


def _iteration(xs, ws, c, lab_old, with_inertia=False):
  """One Lloyd iteration: (new centres, labels, #changed labels, squared centre shift, inertia of c).

  A cluster that stays empty (nothing to relocate) moves onto the heaviest one, as scikit-learn's.
  """
  counts, sums, changed, inertia, lab = _stats_pass(xs, ws, lab_old, c, with_inertia)
  counts, sums = lax.cond(jnp.any(counts == 0), lambda: _relocate(xs, ws, lab, c, counts, sums), lambda: (counts, sums))
  safe = jnp.where(counts > 0, counts, 1.0)[:, None]
  new = sums / safe
  new = jnp.where(counts[:, None] > 0, new, new[jnp.argmax(counts)])
  return new, lab, changed, jnp.sum((new - c) ** 2), inertia


def _lloyd(xs, ws, centers, max_iter, tol):
  """Lloyd iterations with scikit-learn's stopping rules.

  Stops when the labels did not change (strict convergence), when the total
  squared centre shift is <= tol, or after max_iter iterations.
  """

  def cond(s):
    it, _, _, strict, shift = s
    return (it < max_iter) & ~strict & (shift > tol)

  def body(s):
    it, c, lab_old, _, _ = s
    new, lab, changed, shift, _ = _iteration(xs, ws, c, lab_old)
    return it + 1, new, lab, changed == 0, shift

  init = (
    jnp.zeros((), jnp.int32),
    centers,
    jnp.full(ws.shape, -1, jnp.int32),
    jnp.zeros((), bool),
    jnp.full((), jnp.inf, xs.dtype),
  )
  it, centers, _, _, _ = lax.while_loop(cond, body, init)
  labels, inertia = _final_pass(xs, ws, centers)
  return centers, labels, inertia, it


@functools.partial(jax.jit, static_argnames=('mesh',))
def _lloyd_sharded(xs, ws, centers, max_iter, tol, *, mesh):
  f = jax.shard_map(
    _lloyd, mesh=mesh, in_specs=(P(AXIS), P(AXIS), P(), P(), P()), out_specs=(P(), P(AXIS), P(), P()), check_vma=False
  )
  return f(xs, ws, centers, max_iter, tol)


@functools.partial(jax.jit, static_argnames=('mesh',))
def _iteration_sharded(xs, ws, centers, labels_old, *, mesh):
  f = jax.shard_map(
    functools.partial(_iteration, with_inertia=True),
    mesh=mesh,
    in_specs=(P(AXIS), P(AXIS), P(), P(AXIS)),
    out_specs=(P(), P(AXIS), P(), P(), P()),
    check_vma=False,
  )
  return f(xs, ws, centers, labels_old)


@functools.partial(jax.jit, static_argnames=('mesh',))
def _predict_sharded(xs, ws, centers, *, mesh):
  f = jax.shard_map(_final_pass, mesh=mesh, in_specs=(P(AXIS), P(AXIS), P()), out_specs=(P(AXIS), P()), check_vma=False)
  return f(xs, ws, centers)


# ---------------------------------------------------------------------------
# Seeding.


def n_local_trials(k):
  return 2 + int(math.log(k))


def n_uniforms(k):
  """How many U(0,1) draws one k-means++ seeding consumes (as scikit-learn)."""
  return 1 + (k - 1) * n_local_trials(k)


@functools.partial(jax.jit, static_argnames=('k',))
def _kmeans_plusplus(x, w, n_valid, u, *, k):
  """Greedy k-means++ (scikit-learn's): 2 + log k candidates per step.

  The first centre is drawn with probability w_i / sum w; each next one from
  L candidates drawn with probability w_i D(x_i)^2 / sum_j w_j D(x_j)^2, and
  the candidate that minimises the potential sum_i w_i D(x_i)^2 is kept.
  `u` holds the uniforms, consumed in scikit-learn's order.
  """
  trials = n_local_trials(k)
  u = jnp.concatenate([u, jnp.zeros((trials,), u.dtype)])  # k = 1: traced, never read
  xn = jnp.sum(x * x, axis=1)

  def dist(c):  # (N, L) squared distances to the rows of c
    d = xn[:, None] - 2.0 * jnp.dot(x, c.T, precision=_HI) + jnp.sum(c * c, 1)
    return jnp.maximum(d, 0.0)

  cdf = jnp.cumsum(w)
  first = jnp.searchsorted(cdf / cdf[-1], u[0], side='right')
  first = jnp.minimum(first, n_valid - 1)
  closest = dist(x[first][None])[:, 0]
  pot = jnp.dot(closest, w, precision=_HI)
  idx = jnp.zeros((k,), jnp.int32).at[0].set(first.astype(jnp.int32))

  def body(i, s):
    idx, closest, pot = s
    r = lax.dynamic_slice(u, (1 + (i - 1) * trials,), (trials,)) * pot
    cand = jnp.searchsorted(jnp.cumsum(w * closest), r)
    cand = jnp.minimum(cand, n_valid - 1)
    dc = jnp.minimum(closest[:, None], dist(x[cand]))
    pots = jnp.dot(w, dc, precision=_HI)
    b = jnp.argmin(pots)
    return idx.at[i].set(cand[b].astype(jnp.int32)), dc[:, b], pots[b]

  idx, _, _ = lax.fori_loop(1, k, body, (idx, closest, pot))
  return x[idx], idx


# ---------------------------------------------------------------------------
# Public API.


class Prepared(NamedTuple):
  """Data laid out for the kernels: centred, scaled, padded, chunked and sharded."""

  xs: jax.Array
  ws: jax.Array
  mean: np.ndarray  # (D,) the shift, float64, unpadded
  n: int
  mesh: object
  scale: float = 1.0  # a power of two: kernel coordinates are (x - mean) / scale

  @property
  def d(self):
    return self.mean.shape[0]

  @property
  def dtype(self):
    return self.xs.dtype

  def pad(self, c):
    """Centres (..., D) in data coordinates -> shifted, scaled, padded kernel coordinates."""
    c = ((np.asarray(c, np.float64) - self.mean) / self.scale).astype(self.dtype)
    if not np.isfinite(c).all():
      raise ValueError('centres lie too far from the data for its dtype.')
    extra = self.xs.shape[-1] - self.d
    return np.pad(c, [(0, 0)] * (c.ndim - 1) + [(0, extra)]) if extra else c

  def unpad(self, c):
    """Kernel coordinates -> data coordinates, float64."""
    return np.asarray(c, np.float64)[..., : self.d] * self.scale + self.mean


def default_chunk(k):
  """Rows per distance block for K centres: the K x chunk float32 block stays about 1 MiB (cache-sized)."""
  return int(min(8192, max(256, 1 << round(math.log2((1 << 18) / max(k, 1))))))


def prepare(x, sample_weight=None, *, mesh=None, chunk=4096, center=True, pad_features=True):
  """Validates x and lays it out as (n_chunks, chunk, D) over the mesh, centred and scaled (center=True).

  Small inputs get zero feature columns up to a power of two (distances and
  centres are unchanged), so that many small fits share compiled kernels.
  """
  x = validation.check_array(x)
  n, d = x.shape
  w = validation.check_weights(sample_weight, n, x.dtype)
  mesh = _sharding.data_mesh() if mesh is None else mesh
  mean, scale = validation.center_scale(x) if center else (np.zeros(d), 1.0)
  d_to = max(16, 1 << (d - 1).bit_length()) if pad_features and n * d <= 1 << 16 and d < 64 else d
  xs, ws = _sharding.to_chunks(x, w, mesh, chunk, shift=mean if center else None, scale=scale, d_to=d_to)
  return Prepared(xs, ws, mean, n, mesh, scale)


def _prepare_for(x, k, sample_weight, mesh, chunk):
  """x itself when already Prepared, else prepare(x) with chunk defaulting to default_chunk(k)."""
  if isinstance(x, Prepared):
    return x
  if chunk is None:
    validation.check_positive_int(k, 'n_clusters')
    chunk = default_chunk(k)
  return prepare(x, sample_weight, mesh=mesh, chunk=chunk)


def _flat(prep):
  return prep.xs.reshape(-1, prep.xs.shape[-1]), prep.ws.reshape(-1)


@_sharding.x64
def kmeans_plusplus(x, n_clusters, *, key=None, uniforms=None, sample_weight=None, mesh=None, chunk=4096):
  """k-means++ seeds: returns (centres (K, D), indices (K,)).

  Pass `key` (a jax PRNG key) or `uniforms` (n_uniforms(K) draws in [0, 1),
  e.g. from numpy's RandomState to reproduce scikit-learn's seeding).
  """
  prep = _prepare_for(x, n_clusters, sample_weight, mesh, chunk)
  validation.check_n_clusters(n_clusters, prep.n)
  u = _uniforms(n_clusters, key, uniforms, prep.dtype)
  xf, wf = _flat(prep)
  c, idx = _kmeans_plusplus(xf, wf, jnp.int32(prep.n), u, k=n_clusters)
  return prep.unpad(c), np.asarray(idx)


def _uniforms(k, key, uniforms, dtype):
  if uniforms is not None:
    u = np.asarray(uniforms, np.float64).reshape(-1)
    if u.shape[0] < n_uniforms(k):
      raise ValueError(f'uniforms needs {n_uniforms(k)} values, got {u.shape[0]}.')
    return jnp.asarray(u[: n_uniforms(k)], dtype)
  key = jax.random.key(0) if key is None else key
  return jax.random.uniform(key, (n_uniforms(k),), dtype)


def _same_clustering(a, b, k):
  """True if labels a and b are the same partition up to a permutation."""
  mapping = np.full(k, -1)
  for x, y in zip(a, b):
    if mapping[x] == -1:
      mapping[x] = y
    elif mapping[x] != y:
      return False
  return True


@_sharding.x64
def fit(
  x,
  n_clusters,
  *,
  init='k-means++',
  n_init=1,
  max_iter=300,
  tol=1e-4,
  key=None,
  uniforms=None,
  sample_weight=None,
  mesh=None,
  chunk=None,
  verbose=False,
):
  """Runs k-means, keeping the restart with the lowest inertia.

  Args:
    x: (N, D) data, or a `Prepared` layout of it.
    n_clusters: K.
    init: 'k-means++', 'random', a (K, D) array of centres, or a
      (n_init, K, D) stack of them (one per restart).
    n_init: number of restarts (ignored when init is an array).
    max_iter: most Lloyd iterations per restart.
    tol: relative tolerance: stop when sum_k ||c_k' - c_k||^2 <= tol * mean
      feature variance (scikit-learn's rule); 0 stops only on stable labels.
    key: jax PRNG key for the random inits.
    uniforms: optional (n_init, n_uniforms(K)) draws for k-means++ seeding.
    sample_weight: optional (N,) non-negative weights.
    mesh: 1-D device mesh with axis 'data' (default: all devices).
    chunk: rows per distance block (memory grows with chunk x K; default: default_chunk(K)).
    verbose: print scikit-learn's per-iteration lines (the iterations then run one jitted call each).
  Returns:
    KMeansResult(centers, labels, inertia, n_iter); centres in float64.
  """
  prep = _prepare_for(x, n_clusters, sample_weight, mesh, chunk)
  validation.check_n_clusters(n_clusters, prep.n)
  validation.check_positive_int(max_iter, 'max_iter', allow_zero=False)
  xf, wf = _flat(prep)
  tol_abs = _tolerance(prep, tol)
  key = jax.random.key(0) if key is None else key

  if isinstance(init, str):
    if init not in ('k-means++', 'random'):
      raise ValueError(f"init must be 'k-means++', 'random' or an array, got {init!r}.")
    validation.check_positive_int(n_init, 'n_init', allow_zero=False)
    inits = []
    for i in range(n_init):
      key, sub = jax.random.split(key)
      if init == 'k-means++':
        u = _uniforms(n_clusters, sub, None if uniforms is None else uniforms[i], prep.dtype)
        inits.append(_kmeans_plusplus(xf, wf, jnp.int32(prep.n), u, k=n_clusters)[0])
      else:
        p = np.asarray(wf[: prep.n], np.float64)
        idx = jax.random.choice(sub, prep.n, (n_clusters,), replace=False, p=jnp.asarray(p / p.sum(), prep.dtype))
        inits.append(xf[idx])
  else:
    c = validation.check_array(init, name='init', ndim=3 if np.ndim(init) == 3 else 2, dtype=np.float64)
    c = c[None] if c.ndim == 2 else c
    if c.shape[1:] != (n_clusters, prep.d):
      raise ValueError(f'init has shape {c.shape[1:]}, expected {(n_clusters, prep.d)}.')
    inits = list(prep.pad(c))

  best = None
  for c0 in inits:
    c0 = jnp.asarray(c0, prep.dtype)
    if verbose:
      print('Initialization complete')
      c, lab, inertia, it = _lloyd_verbose(prep, c0, max_iter, tol_abs)
    else:
      c, lab, inertia, it = _lloyd_sharded(
        prep.xs, prep.ws, c0, jnp.int32(max_iter), jnp.asarray(tol_abs, prep.dtype), mesh=prep.mesh
      )
    inertia = float(inertia) * prep.scale**2
    if best is not None and not inertia < best[2]:
      continue
    lab = np.asarray(lab).reshape(-1)[: prep.n]
    if best is not None and _same_clustering(lab, best[1], n_clusters):
      continue
    best = (c, lab, inertia, int(it))
  c, lab, inertia, it = best
  return KMeansResult(prep.unpad(c), lab, inertia, it)


def _lloyd_verbose(prep, c, max_iter, tol):
  """_lloyd as a host loop of jitted iterations, printing scikit-learn's lines (data units)."""
  s2 = prep.scale**2
  lab = jnp.full(prep.ws.shape, -1, jnp.int32)
  for i in range(max_iter):
    new, lab, changed, shift, inertia = _iteration_sharded(prep.xs, prep.ws, c, lab, mesh=prep.mesh)
    print(f'Iteration {i}, inertia {float(inertia) * s2}')
    c = new
    if int(changed) == 0:
      print(f'Converged at iteration {i}: strict convergence.')
      break
    if float(shift) <= tol:
      print(f'Converged at iteration {i}: center shift {float(shift) * s2} within tolerance {tol * s2}.')
      break
  labels, inertia = _predict_sharded(prep.xs, prep.ws, c, mesh=prep.mesh)
  return c, labels, inertia, i + 1


def _tolerance(prep, tol):
  """scikit-learn's absolute tolerance in kernel units: tol x the mean feature variance (computed if tol > 0)."""
  return float(_mean_var(prep.xs, prep.n, prep.d) * tol) if tol else 0.0


@functools.partial(jax.jit, static_argnums=(1, 2))
def _mean_var(xs, n, d):
  """mean_j var(x[:, j]) of the n real rows of the (shifted, padded) chunks."""
  xs = xs[..., :d]
  real = (jnp.arange(xs.shape[0] * xs.shape[1]) < n).reshape(xs.shape[:2] + (1,))
  m = jnp.sum(jnp.where(real, xs, 0.0), axis=(0, 1)) / n
  return jnp.mean(jnp.sum(jnp.where(real, (xs - m) ** 2, 0.0), axis=(0, 1)) / n)


def mean_variance(x, block=1 << 16):
  """mean_j var(x[:, j]), in float64 over row blocks (no N x D temporary)."""
  x = np.asarray(x)
  mean = x.mean(axis=0, dtype=np.float64)
  ss = sum(np.sum((x[i : i + block] - mean) ** 2, axis=0) for i in range(0, len(x), block))
  return float(np.mean(ss / len(x)))


@_sharding.x64
def predict(x, centers, *, mesh=None, chunk=None, sample_weight=None):
  """Nearest-centre labels and the inertia: (labels (N,), inertia)."""
  centers = validation.check_array(centers, name='centers', dtype=np.float64)
  prep = _prepare_for(x, len(centers), sample_weight, mesh, chunk)
  if centers.shape[1] != prep.d:
    raise ValueError(f'x has {prep.d} features, centres have {centers.shape[1]}.')
  lab, inertia = _predict_sharded(prep.xs, prep.ws, jnp.asarray(prep.pad(centers)), mesh=prep.mesh)
  return np.asarray(lab).reshape(-1)[: prep.n], float(inertia) * prep.scale**2


@jax.jit
def _distances(x, centers):
  """Euclidean distances by the expansion; each row's nearest one recomputed as ||x - c||, exact at 0."""
  d = jnp.sum(x * x, 1)[:, None] - 2.0 * jnp.dot(x, centers.T, precision=_HI) + jnp.sum(centers * centers, 1)[None]
  j = jnp.argmin(d, axis=1)
  near = jnp.sum((x - centers[j]) ** 2, axis=1)
  d = d.at[jnp.arange(x.shape[0]), j].set(near)
  return jnp.sqrt(jnp.maximum(d, 0.0))


@_sharding.x64
def transform(x, centers):
  """Euclidean distances to every centre, (N, K), in x's dtype (float64 or float32)."""
  x = validation.check_array(x)
  centers = validation.check_array(centers, name='centers', dtype=np.float64)
  mean, _ = validation.center_scale(x)
  spread = max(np.max(np.abs(x - mean)), np.max(np.abs(centers - mean)))
  scale = validation.pow2_scale(spread)
  xs = ((x - mean) / scale).astype(x.dtype)
  cs = ((centers - mean) / scale).astype(x.dtype)
  return (np.asarray(_distances(jnp.asarray(xs), jnp.asarray(cs)), np.float64) * scale).astype(x.dtype)


def inertia_curve(x, ks, **kwargs):
  """Inertia of k-means for each k in ks: the elbow plot's y values.

  Inertia always falls as k grows; look for the k after which it falls
  slowly (the elbow heuristic for choosing k).
  """
  prep = prepare(x, kwargs.pop('sample_weight', None), mesh=kwargs.pop('mesh', None), chunk=kwargs.pop('chunk', 4096))
  return np.array([fit(prep, int(k), **kwargs).inertia for k in ks])


# ---------------------------------------------------------------------------
# Mini-batch k-means.


@jax.jit
def _minibatch_step(centers, counts, xb, wb):
  k = centers.shape[0]
  d = jnp.sum(centers * centers, 1)[None] - 2.0 * jnp.dot(xb, centers.T, precision=_HI)
  lab = jnp.argmin(d, axis=1)
  inertia = jnp.sum(wb * jnp.maximum(d[jnp.arange(xb.shape[0]), lab] + jnp.sum(xb * xb, 1), 0.0))
  bw = jax.ops.segment_sum(wb, lab, k)
  bs = jax.ops.segment_sum(xb * wb[:, None], lab, k)
  new_counts = counts + bw
  moved = (centers * counts[:, None] + bs) / jnp.where(new_counts > 0, new_counts, 1.0)[:, None]
  centers = jnp.where(bw[:, None] > 0, moved, centers)
  return centers, new_counts, inertia, lab


@_sharding.x64
def minibatch_step(centers, counts, xb, wb=None):
  """One mini-batch update (Sculley 2010, scikit-learn's weighting).

  Each centre moves to the running weighted mean of every point ever
  assigned to it: c_k <- (c_k n_k + sum_{i in batch, l_i=k} w_i x_i)
  / (n_k + sum w_i); n_k accumulates the weights. Computes in xb's dtype
  (float64 or float32); centre the data first (the expanded distance
  loses precision far from the origin).

  Returns (centers, counts, batch inertia, batch labels).
  """
  dt = validation.float_dtype(xb)
  xb = jnp.asarray(xb, dt)
  wb = jnp.ones(xb.shape[:1], dt) if wb is None else jnp.asarray(wb, dt)
  return _minibatch_step(jnp.asarray(centers, dt), jnp.asarray(counts, dt), xb, wb)
