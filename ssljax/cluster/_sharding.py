"""Row sharding helpers shared by the clustering kernels.

Data rows are split over a 1-D mesh with axis 'data'. Each device walks its
rows in chunks of `chunk` rows (so temporaries are chunk x K, not N x K) and
the partial sufficient statistics are summed across devices with `psum`.

The host lays the data out as (n_chunks, chunk, D), padded with zero-weight
rows, so that n_chunks divides evenly over the devices.
"""

import functools
import math

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ssljax import parallel
from ssljax.parallel import AXIS


def data_mesh(devices=None):
  """The mesh the estimators shard rows over: parallel.make_mesh over `devices` (default: all)."""
  return parallel.make_mesh(devices=devices)


def x64(f):
  """Runs `f` with 64-bit types enabled: float64 data stay float64, and the packed argmin needs int64.

  jax.enable_x64 is a context manager scoped to the call (and thread): the rest of the process keeps its
  setting. Every array in the kernels has an explicit dtype, the data's (float32 or float64).
  """

  @functools.wraps(f)
  def wrapped(*args, **kwargs):
    with jax.enable_x64(True):
      return f(*args, **kwargs)

  return wrapped


def layout(n, n_dev, chunk):
  """(n_chunks, chunk) with n_chunks % n_dev == 0 and little padding.

  Small inputs (one chunk per device) are padded to a power of two rows so
  that many small fits share one compiled kernel.
  """
  per_dev = max(1, math.ceil(n / n_dev))
  if per_dev <= chunk:
    return n_dev, min(chunk, max(64, 1 << (per_dev - 1).bit_length()))
  n_local = max(1, math.ceil(per_dev / chunk))
  chunk = math.ceil(per_dev / n_local)
  return n_local * n_dev, chunk


def aligned_empty(shape, dtype=np.float32, align=64):
  """np.empty with the data 64-byte aligned: jax.device_put then aliases it on CPU instead of copying.

  The result is a private buffer of ours that is never written after the put.
  """
  dtype = np.dtype(dtype)
  size = int(np.prod(shape))
  buf = np.empty(size * dtype.itemsize + align, np.uint8)
  off = -buf.ctypes.data % align
  return buf[off : off + size * dtype.itemsize].view(dtype).reshape(shape)


def to_chunks(x, w, mesh, chunk, shift=None, scale=1.0, d_to=None):
  """Shifts, scales, pads and shards rows as (n_chunks, chunk, d_to).

  Args:
    x: (N, D) float32 or float64 array; the chunks keep its dtype.
    w: (N,) weights.
    mesh: the 1-D data mesh.
    chunk: the largest number of rows per chunk.
    shift: optional (D,) vector subtracted from every row.
    scale: a power of two every shifted row is divided by (exact: x / scale - shift / scale).
    d_to: pad the features with zero columns up to d_to.
  Returns:
    xs (n_chunks, chunk, d_to) and ws (n_chunks, chunk), sharded over the mesh; padding rows have weight 0.
  """
  n, d = x.shape
  d_to = d if d_to is None else d_to
  n_chunks, chunk = layout(n, mesh.size, chunk)
  total = n_chunks * chunk
  xp = aligned_empty((total, d_to), x.dtype)  # never the caller's array: the device array may alias it
  rows = xp[:n, :d]
  if scale != 1.0:
    np.multiply(x, x.dtype.type(1.0 / scale), out=rows)
  else:
    rows[...] = x
  if shift is not None:
    np.subtract(rows, (np.asarray(shift, np.float64) / scale).astype(x.dtype), out=rows)
  xp[n:] = 0
  xp[:n, d:] = 0
  wp = aligned_empty((total,), x.dtype)
  wp[:n] = w
  wp[n:] = 0
  put = lambda a: jax.device_put(a, NamedSharding(mesh, P(AXIS)))
  return put(xp.reshape(n_chunks, chunk, d_to)), put(wp.reshape(n_chunks, chunk))


def replicated(mesh, *arrays):
  put = lambda a: jax.device_put(a, NamedSharding(mesh, P()))
  return tuple(put(a) for a in arrays)
