"""Pillow helpers the loaders share: one image to a uint8 [H, W, C] array, and resizing uint8 arrays."""

import concurrent.futures
import os

import numpy as np
from PIL import Image

GRAY_MODES = frozenset({'1', 'L', 'LA', 'I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F'})
WORKERS = min(8, os.cpu_count() or 1)
CHUNK = 1024  # Images per thread task: small images cost less to resize than to schedule.
RESAMPLE = Image.Resampling.BILINEAR  # Pillow's resize antialiases when it shrinks.


def target_mode(modes) -> str:
  """'RGB' if any image is in colour (palette, RGBA, CMYK...), else 'L'."""
  return 'L' if set(modes) <= GRAY_MODES else 'RGB'


def to_array(image: Image.Image, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
  """`image` in `mode` ('L' or 'RGB'), resized to size=(height, width) if given, as uint8 [H, W, C]."""
  if image.mode.startswith('I;16'):  # convert('L') would clip 16-bit values at 255 instead of scaling them.
    image = Image.fromarray((np.asarray(image, np.uint16) >> 8).astype(np.uint8))
  if image.mode == 'P' and 'transparency' in image.info:
    image = image.convert('RGBA')  # Pillow warns on every palette-with-transparency image converted straight to RGB.
  if image.mode != mode:
    image = image.convert(mode)
  if size is not None and image.size != (size[1], size[0]):
    image = image.resize((size[1], size[0]), RESAMPLE)
  array = np.asarray(image, np.uint8)
  return array[..., None] if array.ndim == 2 else array


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """uint8 images [N, H, W, C] (C = 1 or 3) resized to [N, *size, C]."""
  n, h, w, c = images.shape
  if (h, w) == tuple(size):
    return images
  out = np.empty((n, *size, c), np.uint8)
  mode = 'L' if c == 1 else 'RGB'

  def chunk(start):
    for i in range(start, min(n, start + CHUNK)):
      out[i] = to_array(Image.fromarray(images[i, ..., 0] if c == 1 else images[i]), mode, size)

  with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:  # Pillow resizes without the GIL.
    list(pool.map(chunk, range(0, n, CHUNK)))
  return out
