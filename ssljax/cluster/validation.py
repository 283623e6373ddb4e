"""Input checks shared by the clustering code: clear ValueErrors, no NaNs."""

import numbers

import numpy as np


def check_array(x, name='x', ndim=2):
  """float32 copy-free view of x, rejecting wrong ndim, NaN/Inf and empties."""
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
  x = np.ascontiguousarray(x, dtype=np.float32)
  if not np.isfinite(x).all():
    raise ValueError(f'{name} contains NaN or Inf (or values too large for float32).')
  return x


def check_weights(w, n):
  if w is None:
    return np.ones((n,), np.float32)
  w = np.asarray(w, np.float32)
  if w.ndim == 0:
    return np.full((n,), w, np.float32)
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
