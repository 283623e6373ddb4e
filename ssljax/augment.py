"""Per-example image augmentations in JAX.

Every random function takes a PRNG key and one float image in [0, 1], HWC (any float dtype: the arithmetic follows
the image's), and
returns an image of the same shape in [0, 1]; vmap them over a batch with one key
per example and jit the result. Grayscale (C=1) images work everywhere.
"""

import functools
import math

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax.scipy import ndimage

CUTOUT_FILL = 0.5  # Gray, as FixMatch's Cutout.
STRONG_NOISE = 0.05  # Gaussian noise std of the 'affine' strong view.


# ----------------------------------------------------------------- building blocks


def grayscale(image):
  """Luma (Rec. 601) as [H, W, 1]; a C=1 image is returned as is."""
  if image.shape[-1] == 1:
    return image
  return pix.rgb_to_grayscale(image, keep_dims=True)


def blend(image, other, factor):
  """PIL ImageEnhance convention: factor 0 gives `other`, 1 gives `image`."""
  return other + factor * (image - other)


def flip_lr(image, u):
  """Mirrors left-right when the uniform draw u < 0.5."""
  return jnp.where(u < 0.5, image[:, ::-1], image)


def between(u, lo, hi):
  """Maps uniform [0, 1) draws to [lo, hi)."""
  return lo + (hi - lo) * u


def warp(image, matrix, shift, mode='nearest'):
  """Bilinear affine warp about the image centre.

  Output pixel p = (y, x) samples the input at matrix @ (p - centre) + centre - shift,
  so `shift` moves the content by that many (sub)pixels and `matrix` is the inverse
  of the map applied to the content.
  """
  h, w, _ = image.shape
  dtype = image.dtype
  centre = jnp.array([(h - 1) / 2, (w - 1) / 2], dtype)
  grid = jnp.stack(jnp.meshgrid(jnp.arange(h, dtype=dtype), jnp.arange(w, dtype=dtype), indexing='ij'), -1)
  src = (grid - centre) @ jnp.asarray(matrix, dtype).T + centre - jnp.asarray(shift, dtype)
  sample = lambda channel: ndimage.map_coordinates(channel, [src[..., 0], src[..., 1]], order=1, mode=mode)
  return jax.vmap(sample, in_axes=-1, out_axes=-1)(image)


def affine_matrix(angle=0.0, scale=1.0, shear_x=0.0, shear_y=0.0):
  """(Inverse) sampling matrix in (y, x) coordinates; angle in radians, scale > 1 zooms in."""
  c, s = jnp.cos(angle), jnp.sin(angle)
  rotation = jnp.array([[c, -s], [s, c]])
  shear = jnp.array([[1.0, shear_y], [shear_x, 1.0]])
  return rotation @ shear / scale


def gaussian(key, image):
  """Standard normal noise like image, drawn flat: a multi-dimensional draw compiles several
  times slower on XLA:CPU with jax_threefry_partitionable (jax 0.10 default)."""
  return jax.random.normal(key, (image.size,), image.dtype).reshape(image.shape)


def translate(image, u, max_shift, mode='reflect'):
  """Continuous shift of up to max_shift pixels along each axis; u: two uniform draws."""
  return warp(image, jnp.eye(2), between(u, -max_shift, max_shift), mode=mode)


def cutout(image, u, size: int, fill: float = CUTOUT_FILL):
  """Fills a size x size square centred at a random pixel (it may overhang the border); u: two uniform draws."""
  if size <= 0:
    return image
  h, w, _ = image.shape
  y0 = jnp.floor(u[0] * h).astype(jnp.int32) - size // 2
  x0 = jnp.floor(u[1] * w).astype(jnp.int32) - size // 2
  ys = jnp.arange(h)[:, None, None]
  xs = jnp.arange(w)[None, :, None]
  inside = (ys >= y0) & (ys < y0 + size) & (xs >= x0) & (xs < x0 + size)
  return jnp.where(inside, jnp.asarray(fill, image.dtype), image)


# ----------------------------------------------------------------- weak view
# Each view draws its uniforms in one call: every threefry call adds XLA:CPU compile time.


def weak(key, image, *, allow_flip: bool, max_shift: float, noise: float = 0.0):
  """Flip (if allowed), continuous shift of up to max_shift pixels (reflect padding), noise."""
  u_key, noise_key = jax.random.split(key)
  u = jax.random.uniform(u_key, (3,), image.dtype)
  if allow_flip:
    image = flip_lr(image, u[0])
  if max_shift:
    image = translate(image, u[1:3], max_shift)
  if noise:
    image = image + noise * gaussian(noise_key, image)
  return jnp.clip(image, 0.0, 1.0)


# ----------------------------------------------------------------- strong views


def _affine_view(image, u, noise_key, max_shift):
  """Small random affine warp + brightness/contrast jitter + noise (the strong view that worked on digits)."""
  matrix = affine_matrix(
    angle=between(u[0], -1.0, 1.0) * math.radians(20), scale=between(u[1], 0.85, 1.15), shear_x=between(u[2], -0.3, 0.3)
  )
  image = warp(image, matrix, between(u[3:5], -max_shift, max_shift))
  image = blend(image, jnp.mean(grayscale(image)), between(u[5], 0.7, 1.3))  # Contrast.
  image = image + between(u[6], -0.15, 0.15)  # Brightness.
  return image + STRONG_NOISE * gaussian(noise_key, image)


def _equalize(image):
  """Histogram equalisation of each channel over 256 levels (PIL's ImageOps.equalize, roughly)."""

  def channel(x):
    q = jnp.clip(jnp.round(x * 255), 0, 255).astype(jnp.int32)
    cdf = jnp.cumsum(jnp.bincount(q.ravel(), length=256))
    lowest = cdf[q.min()]  # Pixels at the lowest level map to 0.
    spread = cdf[-1] - lowest
    return jnp.where(spread > 0, (cdf[q] - lowest) / jnp.maximum(spread, 1), x)

  return jax.vmap(channel, in_axes=-1, out_axes=-1)(image)


def _autocontrast(image):
  lo = image.min(axis=(0, 1), keepdims=True)
  hi = image.max(axis=(0, 1), keepdims=True)
  return jnp.where(hi > lo, (image - lo) / jnp.maximum(hi - lo, 1e-6), image)


def _posterize(image, bits):
  step = 2.0 ** (8 - bits)
  return jnp.floor(jnp.floor(image * 255.999) / step) * step / 255.0


def _smooth(image):
  """PIL's SMOOTH filter (3x3, centre 5, others 1, /13), edge-padded, per channel."""
  h, w, _ = image.shape
  padded = jnp.pad(image, ((1, 1), (1, 1), (0, 0)), mode='edge')
  total = sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3))
  return (total + 4 * image) / 13  # Shifted sums: convolve2d ran 20x slower under vmap.


# RandAugment ops: (image, magnitude in [0, 1], sign in {-1, 1}) -> image. Magnitude 0 is
# (nearly) the identity for all but autocontrast and equalize, which have no magnitude.
_ENHANCE = 0.9  # Enhance factors range over 1 +- 0.9.
RANDAUGMENT_OPS = (
  ('identity', lambda x, m, s: x),
  ('autocontrast', lambda x, m, s: _autocontrast(x)),
  ('equalize', lambda x, m, s: _equalize(x)),
  ('rotate', lambda x, m, s: warp(x, affine_matrix(angle=s * m * math.radians(30)), jnp.zeros(2))),
  ('solarize', lambda x, m, s: jnp.where(x > 1.0 - m, 1.0 - x, x)),
  ('color', lambda x, m, s: blend(x, grayscale(x), 1.0 + s * m * _ENHANCE)),
  ('posterize', lambda x, m, s: _posterize(x, 8 - jnp.round(4 * m))),
  ('contrast', lambda x, m, s: blend(x, jnp.mean(grayscale(x)), 1.0 + s * m * _ENHANCE)),
  ('brightness', lambda x, m, s: x * (1.0 + s * m * _ENHANCE)),
  ('sharpness', lambda x, m, s: blend(x, _smooth(x), 1.0 + s * m * _ENHANCE)),
  ('shear_x', lambda x, m, s: warp(x, affine_matrix(shear_x=s * m * 0.3), jnp.zeros(2))),
  ('shear_y', lambda x, m, s: warp(x, affine_matrix(shear_y=s * m * 0.3), jnp.zeros(2))),
  ('translate_x', lambda x, m, s: warp(x, jnp.eye(2), jnp.array([0.0, s * m * 0.3 * x.shape[1]]))),
  ('translate_y', lambda x, m, s: warp(x, jnp.eye(2), jnp.array([s * m * 0.3 * x.shape[0], 0.0]))),
)


def randaugment_op(image, u):
  """One RandAugment op chosen uniformly, with a uniform magnitude and a random sign; u: three uniform draws."""
  index = jnp.minimum(jnp.floor(u[0] * len(RANDAUGMENT_OPS)).astype(jnp.int32), len(RANDAUGMENT_OPS) - 1)
  sign = jnp.where(u[2] < 0.5, -1.0, 1.0)
  # Every op, then a pick: what lax.switch becomes under vmap anyway, and switch's branch typing failed inside
  # shard_map (check_vma) when some branches ignore the per-device inputs.
  outs = jnp.stack([jnp.clip(f(image, u[1], sign), 0.0, 1.0) for _, f in RANDAUGMENT_OPS])
  return outs[index]


def strong(
  key, image, *, allow_flip: bool, max_shift: float, num_ops: int = 2, cutout: float = 0.5, style: str = 'affine'
):
  """Strong view: flip (if allowed), then a random warp or RandAugment, then Cutout.

  style='affine': rotation +-20 deg, zoom 0.85-1.15, shear +-0.3 and a shift of up to
    max_shift pixels, then contrast/brightness jitter and noise.
  style='randaugment': a shift of up to max_shift pixels (FixMatch's strong view starts
    from the weak one), then num_ops ops of RANDAUGMENT_OPS.
  Cutout fills a square of side round(cutout * H) with gray.
  """
  u_key, noise_key = jax.random.split(key)
  u = jax.random.uniform(u_key, (5 + max(7, 3 * num_ops),), image.dtype)
  if allow_flip:
    image = flip_lr(image, u[0])
  view = u[5:]
  if style == 'affine':
    image = jnp.clip(_affine_view(image, view, noise_key, max_shift), 0.0, 1.0)
  elif style == 'randaugment':
    if max_shift:
      image = translate(image, u[1:3], max_shift)
    for i in range(num_ops):
      image = randaugment_op(image, view[3 * i : 3 * i + 3])
  else:
    raise ValueError(f"unknown strong style {style!r}; choose 'affine' or 'randaugment'.")
  image = cutout_fraction(image, u[3:5], cutout)
  return jnp.clip(image, 0.0, 1.0)


def cutout_fraction(image, u, fraction: float):
  return cutout(image, u, int(round(fraction * image.shape[0])))


# ----------------------------------------------------------------- SimCLR view


def random_resized_crop(image, u, area=(0.08, 1.0), aspect=(3 / 4, 4 / 3), out_size=None):
  """Crop of random area fraction and aspect ratio, resized bilinearly back to H x W (or out_size x out_size, the
  small crops of multi-crop); u: four uniform draws."""
  h, w, _ = image.shape
  oh, ow = (h, w) if out_size is None else (out_size, out_size)
  frac = between(u[0], *area)
  ratio = jnp.exp(between(u[1], math.log(aspect[0]), math.log(aspect[1])))
  # Out-of-range sizes are clipped instead of resampled (torchvision retries 10 times).
  ch = jnp.clip(h * jnp.sqrt(frac / ratio), 1.0, h)
  cw = jnp.clip(w * jnp.sqrt(frac * ratio), 1.0, w)
  y0 = u[2] * (h - ch)
  x0 = u[3] * (w - cw)
  ys = y0 + (jnp.arange(oh) + 0.5) * ch / oh - 0.5
  xs = x0 + (jnp.arange(ow) + 0.5) * cw / ow - 0.5
  yy, xx = jnp.meshgrid(ys, xs, indexing='ij')
  sample = lambda channel: ndimage.map_coordinates(channel, [yy, xx], order=1, mode='nearest')
  return jax.vmap(sample, in_axes=-1, out_axes=-1)(image)


def color_jitter(image, u, strength):
  """SimCLR colour jitter: brightness/contrast/saturation factors 1 +- 0.8s, hue +-0.2s (RGB only); u: four draws."""
  factor = lambda v: between(v, 1 - 0.8 * strength, 1 + 0.8 * strength)
  image = jnp.clip(image * factor(u[0]), 0.0, 1.0)
  image = jnp.clip(blend(image, jnp.mean(grayscale(image)), factor(u[1])), 0.0, 1.0)
  if image.shape[-1] == 3:
    image = jnp.clip(blend(image, grayscale(image), factor(u[2])), 0.0, 1.0)
    image = pix.adjust_hue(image, between(u[3], -0.2 * strength, 0.2 * strength))
  return image


def simclr_view(key, image, *, allow_flip: bool, strength: float = 0.5, crop_area=(0.08, 1.0), blur: bool = False):
  """SimCLR view: random resized crop, flip, colour jitter (p=0.8), grayscale (p=0.2), blur (p=0.5 if blur)."""
  u = jax.random.uniform(key, (13,), image.dtype)
  image = random_resized_crop(image, u[0:4], crop_area)
  if allow_flip:
    image = flip_lr(image, u[4])
  image = jnp.where(u[5] < 0.8, color_jitter(image, u[6:10], strength), image)
  if image.shape[-1] == 3:
    image = jnp.where(u[10] < 0.2, jnp.broadcast_to(grayscale(image), image.shape), image)
  if blur:
    # SimCLR: sigma in [0.1, 2.0], kernel 10% of the image side.
    kernel_size = max(3, int(image.shape[0] * 0.1) // 2 * 2 + 1)
    blurred = pix.gaussian_blur(image, between(u[11], 0.1, 2.0), kernel_size)
    image = jnp.where(u[12] < 0.5, blurred, image)
  return jnp.clip(image, 0.0, 1.0)


# ----------------------------------------------------------------- BYOL / solo-learn views (asymmetric, multi-crop)


def solarize(image, threshold=0.5):
  """Inverts the pixels above the threshold (PIL's ImageOps.solarize on [0, 1] images)."""
  return pix.solarize(image, threshold)


def jitter_view(
  key,
  image,
  *,
  allow_flip: bool,
  crop_area=(0.08, 1.0),
  brightness: float = 0.4,
  contrast: float = 0.4,
  saturation: float = 0.2,
  hue: float = 0.1,
  jitter_prob: float = 0.8,
  gray_prob: float = 0.2,
  blur_prob: float = 0.0,
  solarize_prob: float = 0.0,
  out_size=None,
):
  """The view of BYOL and its kin (torchvision's ColorJitter(b, c, s, h) parameterisation, as solo-learn's recipes):
  random resized crop (to out_size for multi-crop's small crops), flip, colour jitter with p=jitter_prob (factors
  1 ± b, 1 ± c, 1 ± s, hue ± h), grayscale p=gray_prob, Gaussian blur (σ 0.1–2) p=blur_prob, solarisation
  p=solarize_prob. BYOL's two views differ only in blur_prob (1.0 / 0.1) and solarize_prob (0 / 0.2)."""
  u = jax.random.uniform(key, (14,), image.dtype)
  image = random_resized_crop(image, u[0:4], crop_area, out_size=out_size)
  if allow_flip:
    image = flip_lr(image, u[4])
  jittered = jnp.clip(image * between(u[6], 1 - brightness, 1 + brightness), 0.0, 1.0)
  jittered = jnp.clip(blend(jittered, jnp.mean(grayscale(jittered)), between(u[7], 1 - contrast, 1 + contrast)), 0, 1)
  if image.shape[-1] == 3:
    jittered = jnp.clip(blend(jittered, grayscale(jittered), between(u[8], 1 - saturation, 1 + saturation)), 0, 1)
    jittered = pix.adjust_hue(jittered, between(u[9], -hue, hue))
  image = jnp.where(u[5] < jitter_prob, jittered, image)
  if image.shape[-1] == 3 and gray_prob > 0:
    image = jnp.where(u[10] < gray_prob, jnp.broadcast_to(grayscale(image), image.shape), image)
  if blur_prob > 0:
    kernel_size = max(3, int(image.shape[0] * 0.1) // 2 * 2 + 1)
    image = jnp.where(u[11] < blur_prob, pix.gaussian_blur(image, between(u[12], 0.1, 2.0), kernel_size), image)
  if solarize_prob > 0:
    image = jnp.where(u[13] < solarize_prob, solarize(image), image)
  return jnp.clip(image, 0.0, 1.0)


def local_crop(key, image, *, size: int, area=(0.05, 0.4)):
  """Multi-crop's small crop (DINO, SwAV): a random resized crop of `area` of the image, resized to size x size."""
  return random_resized_crop(image, jax.random.uniform(key, (4,), image.dtype), area, out_size=size)


# ----------------------------------------------------------------- deterministic


def rotate90(image, k):
  """Rotates a square HWC image by k * 90 degrees counter-clockwise; k may be traced (0..3)."""
  branches = [functools.partial(jnp.rot90, k=i, axes=(0, 1)) for i in range(4)]
  return jax.lax.switch(jnp.asarray(k, jnp.int32) % 4, branches, image)


# ----------------------------------------------------------------- corruptions and colour spaces (pretext tasks)


def gaussian_blur(image, sigma, radius: int):
  """Separable Gaussian blur of an HWC image with taps -radius..radius and edge padding; sigma may be traced.

  Shifted sums rather than a convolution (as _smooth), in the image's dtype (dm_pix builds its kernel in float32).
  """
  if radius <= 0:
    return image
  h, w, _ = image.shape
  taps = jnp.arange(-radius, radius + 1, dtype=image.dtype)
  weights = jnp.exp(-jnp.square(taps) / (2 * jnp.square(jnp.maximum(sigma, 1e-3))))
  weights = weights / jnp.sum(weights)
  padded = jnp.pad(image, ((radius, radius), (0, 0), (0, 0)), mode='edge')
  image = sum(weights[i] * padded[i : i + h] for i in range(2 * radius + 1))
  padded = jnp.pad(image, ((0, 0), (radius, radius), (0, 0)), mode='edge')
  return sum(weights[i] * padded[:, i : i + w] for i in range(2 * radius + 1))


def standardize_image(image, eps: float = 1e-3):
  """Zero mean and unit std per channel over the image's pixels (jigsaw's per-tile normalisation)."""
  mean = jnp.mean(image, axis=(-3, -2), keepdims=True)
  var = jnp.mean(jnp.square(image - mean), axis=(-3, -2), keepdims=True)
  return (image - mean) / jnp.sqrt(var + eps)


# sRGB (D65) <-> CIE Lab, as scikit-image's rgb2lab / lab2rgb.
_RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
_WHITE = (0.95047, 1.0, 1.08883)


def rgb_to_lab(rgb):
  """sRGB in [0, 1], [..., 3] -> Lab [..., 3]: L in [0, 100], a and b roughly in [-110, 110]."""
  dtype = rgb.dtype
  linear = jnp.where(rgb > 0.04045, jnp.power((jnp.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4), rgb / 12.92)
  xyz = linear @ jnp.asarray(_RGB_TO_XYZ, dtype).T / jnp.asarray(_WHITE, dtype)
  f = jnp.where(xyz > 0.008856, jnp.cbrt(jnp.maximum(xyz, 0.008856)), 7.787 * xyz + 16.0 / 116.0)
  fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
  return jnp.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab):
  """Lab [..., 3] -> sRGB [..., 3] clipped to [0, 1] (out-of-gamut colours are clipped, as lab2rgb)."""
  dtype = lab.dtype
  fy = (lab[..., 0] + 16.0) / 116.0
  # scikit-image clips a negative f_z to 0 (colours past the gamut's blue edge).
  f = jnp.stack([fy + lab[..., 1] / 500.0, fy, jnp.maximum(fy - lab[..., 2] / 200.0, 0.0)], axis=-1)
  xyz = jnp.where(f > 0.2068966, jnp.power(jnp.maximum(f, 0.2068966), 3), (f - 16.0 / 116.0) / 7.787)
  xyz = xyz * jnp.asarray(_WHITE, dtype)
  linear = xyz @ jnp.linalg.inv(jnp.asarray(_RGB_TO_XYZ, dtype)).T
  gamma = 1.055 * jnp.power(jnp.maximum(linear, 0.0031308), 1 / 2.4) - 0.055
  rgb = jnp.where(linear > 0.0031308, gamma, 12.92 * linear)
  return jnp.clip(rgb, 0.0, 1.0)


def crop(image, u, size: int):
  """A size x size crop at a uniformly random position inside the image; u: two uniform draws."""
  h, w, c = image.shape
  y0 = jnp.minimum(jnp.floor(u[0] * (h - size + 1)), h - size).astype(jnp.int32)
  x0 = jnp.minimum(jnp.floor(u[1] * (w - size + 1)), w - size).astype(jnp.int32)
  return jax.lax.dynamic_slice(image, (y0, x0, jnp.zeros_like(y0)), (size, size, c))
