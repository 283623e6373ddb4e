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
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = 'data'


def data_mesh(devices=None):
  """A 1-D mesh over `devices` (default: all) with the axis name 'data'."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.array(devices), (AXIS,))


def x64(f):
  """Runs `f` with 64-bit types enabled (the packed argmin needs int64).

  Floats stay float32: every array in the kernels has an explicit dtype.
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

  (Measured: 1M x 64 float32, 141 ms for the copy of a 16-byte-aligned array, 0.2 ms aligned.) The result is a
  private buffer of ours that is never written after the put.
  """
  dtype = np.dtype(dtype)
  size = int(np.prod(shape))
  buf = np.empty(size * dtype.itemsize + align, np.uint8)
  off = -buf.ctypes.data % align
  return buf[off : off + size * dtype.itemsize].view(dtype).reshape(shape)


def to_chunks(x, w, mesh, chunk, shift=None):
  """Pads, optionally shifts, and shards rows as (n_chunks, chunk, ...).

  Args:
    x: (N, D) float array.
    w: (N,) float weights.
    mesh: the 1-D data mesh.
    chunk: the largest number of rows per chunk.
    shift: optional (D,) vector subtracted from every row.
  Returns:
    xs (n_chunks, chunk, D) and ws (n_chunks, chunk), both float32 and
    sharded over the mesh; padding rows have weight 0.
  """
  n, d = x.shape
  n_chunks, chunk = layout(n, mesh.size, chunk)
  total = n_chunks * chunk
  xp = aligned_empty((total, d))  # never the caller's array: the device array may alias it
  if shift is not None:
    np.subtract(x, shift.astype(np.float32), out=xp[:n], dtype=np.float32)
  else:
    xp[:n] = x
  xp[n:] = 0
  wp = aligned_empty((total,))
  wp[:n] = w
  wp[n:] = 0
  put = lambda a: jax.device_put(a, NamedSharding(mesh, P(AXIS)))
  return put(xp.reshape(n_chunks, chunk, d)), put(wp.reshape(n_chunks, chunk))


def replicated(mesh, *arrays):
  put = lambda a: jax.device_put(a, NamedSharding(mesh, P()))
  return tuple(put(a) for a in arrays)
