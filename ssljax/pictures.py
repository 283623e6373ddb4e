"""Image grids as PNG files (Pillow): what the pretext tasks show at the end of a run."""

import os

import numpy as np
from PIL import Image


def to_uint8(images):
  """Float images in [0, 1] (or uint8) -> uint8, with a trailing channel axis."""
  images = np.asarray(images)
  if images.dtype != np.uint8:
    images = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
  return images if images.ndim == 4 else images[..., None]


def save_grid(rows, path: str, min_side: int = 64, gap: int = 2, background: int = 255) -> tuple[int, int]:
  """Saves rows of images ([N, H, W, C] each, the same N, H, W, C) as one PNG; returns its (width, height).

  Images are enlarged by an integer factor (nearest neighbour) so that each is at least `min_side` pixels high;
  grey (C=1) grids are saved as L, colour as RGB.
  """
  rows = [to_uint8(r) for r in rows]
  n, h, w, c = rows[0].shape
  if any(r.shape != rows[0].shape for r in rows):
    raise ValueError(f"save_grid: rows differ in shape: {[r.shape for r in rows]}")
  scale = max(1, -(-min_side // h))
  hs, ws = h * scale, w * scale
  canvas = np.full((len(rows) * (hs + gap) + gap, n * (ws + gap) + gap, c), background, np.uint8)
  for i, row in enumerate(rows):
    for j, image in enumerate(row):
      big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
      y, x = gap + i * (hs + gap), gap + j * (ws + gap)
      canvas[y : y + hs, x : x + ws] = big
  picture = Image.fromarray(canvas[..., 0] if c == 1 else canvas, mode="L" if c == 1 else "RGB")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  picture.save(path, format="PNG")
  return picture.size
