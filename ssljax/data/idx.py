"""The IDX format of (Fashion-)MNIST: a big-endian header (magic, dims), then the raw array; gzip or not."""

import gzip
import os
import zlib

import numpy as np

from ssljax.data.base import DataError

# Third byte of the magic number -> element type (all big-endian on disk).
DTYPES = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}
GZIP_MAGIC = b'\x1f\x8b'


def _bytes(path: str) -> bytes:
  with open(path, 'rb') as f:
    raw = f.read()
  if raw[:2] != GZIP_MAGIC:  # Judged by content, not name: an unpacked file may keep its .gz name, or lose it.
    return raw
  try:
    return gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as e:
    raise DataError(f'{path} is not a readable gzip file ({type(e).__name__}: {e}); download it again.') from None


def read_idx(path: str) -> np.ndarray:
  """The array in an IDX file (`.gz` or uncompressed), in native byte order."""
  path = os.fspath(path)
  raw = _bytes(path)
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
    magic = raw[:4].hex() or 'nothing'
    raise DataError(
      f'{path} is not an IDX file (magic number {magic}, expected 0000TTDD: type TT in 08..0e, DD dims); '
      'download it again.'
    )
  dtype, ndim = np.dtype(DTYPES[raw[2]]), raw[3]
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise DataError(f'{path} is truncated inside its IDX header ({len(raw)} bytes); download it again.')
  shape = tuple(int(d) for d in np.frombuffer(raw, '>u4', ndim, offset=4))
  expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  if len(raw) - header != expected:
    raise DataError(
      f'{path} holds {len(raw) - header} data bytes but its IDX header (shape {shape}) says {expected}; '
      'the file is truncated or corrupt: download it again.'
    )
  return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder('='))
