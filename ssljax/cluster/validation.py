"""Input checks shared by the clustering code: clear ValueErrors, no NaNs."""

import numbers

import numpy as np


def float_dtype(x):
  """The dtype the kernels compute in for x: float64 for float64 input, float32 for everything else."""
  return np.dtype(np.float64) if np.asarray(x).dtype == np.float64 else np.dtype(np.float32)


def check_array(x, name='x', ndim=2, dtype=None):
  """A copy-free view of x as float64 (float64 input) or float32, rejecting wrong ndim, NaN/Inf and empties."""
  x = np.asarray(x)
  if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
    raise ValueError(f'{name} must be numeric, got dtype {x.dtype}.')
  if np.iscomplexobj(x):
    raise ValueError(f'{name} must be real, got complex data.')
  if x.ndim != ndim:
    raise ValueError(f'{name} must be {ndim}-D, got shape {x.shape}.')
  if x.size == 0 or x.shape[0] == 0:
    raise ValueError(f'{name} is empty (shape {x.shape}).')
  if ndim == 2 and x.shape[1] == 0:
    raise ValueError(f'{name} has 0 features (shape {x.shape}).')
  dtype = float_dtype(x) if dtype is None else np.dtype(dtype)
  finite = np.isfinite(x).all()
  x = np.ascontiguousarray(x, dtype=dtype)
  if not finite:
    raise ValueError(f'{name} contains NaN or Inf.')
  if not np.isfinite(x).all():
    raise ValueError(f'{name} has values too large for {dtype} (largest magnitude {np.max(np.abs(x)):g}).')
  return x


def check_weights(w, n, dtype=np.float32):
  if w is None:
    return np.ones((n,), dtype)
  w = np.asarray(w, dtype)
  if w.ndim == 0:
    return np.full((n,), w, dtype)
  if w.shape != (n,):
    raise ValueError(f'sample_weight must have shape ({n},), got {w.shape}.')
  if not np.isfinite(w).all() or (w < 0).any():
    raise ValueError('sample_weight must be finite and non-negative.')
  if w.sum() <= 0:
    raise ValueError('sample_weight must have a positive sum.')
  return w


def check_positive_int(v, name, allow_zero=False):
  if isinstance(v, bool) or not isinstance(v, numbers.Integral):
    raise ValueError(f'{name} must be an integer, got {v!r}.')
  if v < 0 or (v == 0 and not allow_zero):
    raise ValueError(f'{name} must be >= {0 if allow_zero else 1}, got {v}.')


def check_n_clusters(k, n, name='n_clusters'):
  check_positive_int(k, name)
  if k > n:
    raise ValueError(f'n_samples={n} should be >= {name}={k}.')


def pow2_scale(spread):
  """The power of two 2^floor(log2 spread) (1 for spread 0): dividing by it is exact and brings spread to [1, 2)."""
  if not np.isfinite(spread):
    raise ValueError('x has values too large for float64 arithmetic (its column sums or spread overflow).')
  return float(2.0 ** np.floor(np.log2(spread))) if spread > 0 else 1.0


def center_scale(x):
  """(shift, scale) that map x onto (x - shift) / scale with largest magnitude in [1, 2).

  scale is a power of two, so dividing by it is exact (distances, sums and squares scale exactly, barring
  underflow), and values anywhere from about 1e-30 to 1e30 reach the kernels at unit size, where squared
  distances neither overflow nor underflow. shift is the column mean (float64) rounded to x's dtype after
  scaling, so the returned shift is the one the kernels really subtract.
  """
  with np.errstate(over='ignore', invalid='ignore'):
    mean = x.mean(axis=0, dtype=np.float64)
    spread = float(max(np.max(x.max(axis=0) - mean), np.max(mean - x.min(axis=0))))
  scale = pow2_scale(spread)
  shift = (mean / scale).astype(x.dtype).astype(np.float64) * scale
  return shift, scale
