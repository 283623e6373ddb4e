"""Tests for ssljax.augment. Few compiles: each jitted function below computes many things."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import augment

N = 32  # Examples (keys) per view.


def ramp(shape):
  """Brightness rising left to right: a mirrored copy anti-correlates with it."""
  h, w, c = shape
  return np.broadcast_to(np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None], shape).copy()


def not_mirrored(views, image):
  """Per view: True where the view correlates with `image` rather than with its mirror."""
  centred = image - image.mean()
  return np.einsum('nhwc,hwc->n', views - views.mean(axis=(1, 2, 3), keepdims=True), centred) > 0


@functools.partial(jax.jit, static_argnames='allow_flip')
def all_views(keys, images, allow_flip):
  max_shift = images.shape[1] / 8
  return {
    'weak': jax.vmap(functools.partial(augment.weak, allow_flip=allow_flip, max_shift=max_shift, noise=0.05))(
      keys, images
    ),
    'affine': jax.vmap(functools.partial(augment.strong, allow_flip=allow_flip, max_shift=max_shift))(keys, images),
    'randaugment': jax.vmap(
      functools.partial(augment.strong, allow_flip=allow_flip, max_shift=max_shift, style='randaugment')
    )(keys, images),
    'simclr': jax.vmap(functools.partial(augment.simclr_view, allow_flip=allow_flip, blur=True))(keys, images),
  }


@pytest.mark.parametrize('shape,allow_flip', [((8, 8, 1), False), ((32, 32, 3), True)])
def test_views(shape, allow_flip):
  image = ramp(shape)
  if shape[-1] == 3:
    image = image * np.array([1.0, 0.7, 0.4], np.float32)  # Colour, for the hue/saturation paths.
  images = jnp.broadcast_to(image, (N,) + shape)
  keys = jax.random.split(jax.random.key(0), N)
  views = all_views(keys, images, allow_flip)
  again = all_views(keys, images, allow_flip)
  other = all_views(jax.random.split(jax.random.key(1), N), images, allow_flip)
  for name, v in views.items():
    v = np.asarray(v)
    assert v.shape == (N,) + shape and v.dtype == np.float32, name
    assert v.min() >= 0.0 and v.max() <= 1.0, name
    np.testing.assert_array_equal(v, again[name], err_msg=name)  # Deterministic per key.
    assert not np.array_equal(v, other[name]), name
    assert len({x.tobytes() for x in v}) == N, name  # Every example's key gives its own view.
    if name == 'randaugment':
      continue  # Solarize can invert the ramp: the mirror detector does not apply.
    kept = not_mirrored(v, image)
    if allow_flip:
      assert 0.15 < kept.mean() < 0.85, (name, kept.mean())
    else:
      assert kept.all(), (name, kept.mean())  # Never mirrored.


def test_flip_free_randaugment_keeps_orientation():
  # Orientation through the RandAugment path, on a pattern that solarize cannot mirror:
  # a bright dot on the left. With allow_flip=False it must stay left of centre (shifts are small
  # relative to its offset; translate ops move it by at most 0.3 W, rotate/shear keep it left).
  image = np.zeros((16, 16, 1), np.float32)
  image[7:9, 1:3] = 1.0
  view = functools.partial(augment.strong, allow_flip=False, max_shift=1.0, cutout=0.0, style='randaugment')
  views = np.asarray(
    jax.jit(jax.vmap(view))(jax.random.split(jax.random.key(2), N), jnp.broadcast_to(image, (N, 16, 16, 1)))
  )
  # Contrast against the image's own background, whatever ops did to it.
  contrast = np.abs(views - np.median(views, axis=(1, 2, 3), keepdims=True))
  left, right = contrast[:, :, :8].sum((1, 2, 3)), contrast[:, :, 8:].sum((1, 2, 3))
  assert (left >= right).all()


@jax.jit
def deterministic_ops(gray, rgb):
  out = {}
  for name, op in augment.RANDAUGMENT_OPS:
    for tag, x in [('gray', gray), ('rgb', rgb)]:
      out[f'{name}/{tag}/zero'] = op(x, 0.0, 1.0)
      out[f'{name}/{tag}/strong'] = jnp.clip(op(x, 0.8, -1.0), 0.0, 1.0)
  out['weak_identity'] = augment.weak(jax.random.key(0), rgb, allow_flip=False, max_shift=0.0)
  out['shift_right'] = augment.warp(rgb, jnp.eye(2), jnp.array([0.0, 1.0]))
  out['shift_half'] = augment.warp(rgb, jnp.eye(2), jnp.array([0.5, 0.0]))
  out['cutout'] = augment.cutout(rgb, jnp.array([0.5, 0.5]), 4)
  out['rot'] = jnp.stack([augment.rotate90(rgb, k) for k in jnp.arange(4)])
  return out


def test_deterministic_ops():
  rng = np.random.default_rng(0)
  gray = rng.uniform(size=(8, 8, 1)).astype(np.float32)
  rgb = rng.uniform(size=(8, 8, 3)).astype(np.float32)
  out = jax.tree.map(np.asarray, deterministic_ops(gray, rgb))
  for name, _ in augment.RANDAUGMENT_OPS:
    for tag, x in [('gray', gray), ('rgb', rgb)]:
      zero, strong = out[f'{name}/{tag}/zero'], out[f'{name}/{tag}/strong']
      assert zero.shape == strong.shape == x.shape and np.isfinite(strong).all(), name
      if name not in ('autocontrast', 'equalize'):  # These have no magnitude.
        np.testing.assert_allclose(zero, x, atol=1 / 255 + 1e-6, err_msg=f'{name}/{tag}')
      if name != 'identity' and (name, tag) != ('color', 'gray'):  # Colour is a no-op on gray.
        assert not np.allclose(strong, x, atol=1e-3), f'{name}/{tag}'
  np.testing.assert_array_equal(out['weak_identity'], rgb)
  np.testing.assert_allclose(out['shift_right'][:, 1:], rgb[:, :-1], atol=1e-6)  # Content moves right.
  np.testing.assert_allclose(out['shift_half'][1:], (rgb[1:] + rgb[:-1]) / 2, atol=1e-6)  # Bilinear.
  cut = out['cutout']
  np.testing.assert_array_equal(cut[2:6, 2:6], 0.5)
  np.testing.assert_array_equal(
    np.delete(np.delete(cut, range(2, 6), 0), range(2, 6), 1), np.delete(np.delete(rgb, range(2, 6), 0), range(2, 6), 1)
  )
  for k in range(4):
    np.testing.assert_array_equal(out['rot'][k], np.rot90(rgb, k, axes=(0, 1)))


def test_strong_unknown_style():
  with pytest.raises(ValueError, match='randaugment'):
    augment.strong(jax.random.key(0), jnp.zeros((8, 8, 1)), allow_flip=False, max_shift=1.0, style='ctaugment')
