"""Colorization (Zhang et al., 2016): from the lightness L of a colour image predict its ab channels (CIE Lab); the
encoder learned for that pretext task is evaluated as a representation where the dataset has labels.

One step: every device draws the same global batch of `batch_size` training images (with replacement when the
set is smaller) and takes its slice; each gets a random config.crop_size crop (0: the whole image) and a flip where
the dataset allows it, then goes to Lab (augment.rgb_to_lab). The encoder (the configured one, fed L/50 − 1, one
channel) and a decoder from its last feature map (ssljax/models/decoder.py) predict, per pixel of the
half-resolution grid (STRIDE; the targets are the means of 2x2 blocks, predictions are upsampled bilinearly):
  config.loss='classification'  logits over the Q ab bins: the centres of the 10×10 ab grid cells that some sRGB
                                colour falls in (ab_bins(): 261 of them; the paper's own gamut computation gave
                                313). Targets are soft-encoded (the 5 nearest bins, Gaussian weights σ = 5), the
                                loss is eq. (2) with class rebalancing: pixel weight w_q ∝ ((1 − λ) p̃_q + λ/Q)^−1,
                                E_p̃[w] = 1, p̃ the Gaussian-smoothed (σ = 5) ab-bin distribution of the training
                                pixels, λ = config.rebalance_lambda (1: no rebalancing). Decoding: the annealed mean
                                (softmax temperature config.temperature, the paper's 0.38).
  config.loss='regression'      ab / 110 under the L2 loss (the paper's regression baseline).

Evaluation (colour_report) on the whole test images: ab_error (mean Euclidean ab distance per pixel), ab_auc (the
paper's raw accuracy: the fraction of pixels within t of the truth, averaged over t = 0..150), both also for the grey
prediction (ab = 0: *_grey) and the mean training colour (*_mean_colour); colourfulness (Hasler & Süsstrunk, 2003)
of the predicted, true, grey and mean-colour images. `colorization.png`: rows original / L input / colorised. With
class labels (folder:, tfds colour datasets), the representation report of the encoder on L as well
(representation.representation_eval); the photos dataset has none, so its runs report the colour figures only.
"""

import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, checks, losses, optim, parallel, pictures, train
from ssljax import data as data_lib
from ssljax.errors import ConfigError
from ssljax.methods import common, reconstruction, representation

LOSSES = ("classification", "regression")
GRID = 10.0  # ab bin size
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
PRIOR_SIGMA = 5.0
AB_SCALE = 110.0  # regression targets: ab / AB_SCALE
PRIOR_PIXELS = 1 << 20  # the ab prior is estimated on at most this many training pixels
STRIDE = 2  # ab is predicted at half resolution (the paper's network: a quarter) and upsampled bilinearly
PICTURE = "colorization.png"
NUM_SHOWN = 8

CHECKS = {
  "decoder_width": checks.POSITIVE_INT,
  "loss": checks.one_of(*LOSSES),
  "crop_size": checks.NON_NEGATIVE_INT,
  "rebalance_lambda": checks.UNIT,
  "temperature": checks.POSITIVE,
}


@functools.cache
def ab_bins(step: int = 2) -> np.ndarray:
  """[Q, 2] centres of the GRID x GRID ab cells that some sRGB colour (a lattice of every `step`-th 8-bit level)
  falls in, sorted by (a, b)."""
  levels = np.arange(0, 256, step, dtype=np.float32) / 255.0
  rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
  cells = np.round(np.asarray(jax.jit(augment.rgb_to_lab)(rgb))[:, 1:] / GRID).astype(np.int64)
  codes = np.unique((cells[:, 0] + 64) * 128 + cells[:, 1] + 64)  # one integer per cell: a 1-D unique is fast
  return (np.stack([codes // 128 - 64, codes % 128 - 64], axis=1) * GRID).astype(np.float32)


def nearest_bins(ab, bins, chunk: int = 1 << 16) -> np.ndarray:
  """Index of the nearest bin centre for each row of ab [N, 2] (host numpy)."""
  out = [np.argmin(((ab[i : i + chunk, None, :] - bins[None]) ** 2).sum(-1), axis=1) for i in range(0, len(ab), chunk)]
  return np.concatenate(out) if out else np.zeros(0, np.int64)


def rebalance_weights(ab, bins, lam: float) -> np.ndarray:
  """w_q ∝ ((1 − λ) p̃_q + λ/Q)^−1 with Σ_q p̃_q w_q = 1; p̃ the ab-bin histogram of ab [N, 2], smoothed by a Gaussian
  of std PRIOR_SIGMA over the ab plane (Zhang et al. 2016, eq. 4)."""
  q = len(bins)
  counts = np.bincount(nearest_bins(ab, bins), minlength=q).astype(np.float64)
  d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1).astype(np.float64)
  prior = np.exp(-d2 / (2 * PRIOR_SIGMA**2)) @ (counts / counts.sum())
  prior /= prior.sum()
  w = 1.0 / ((1 - lam) * prior + lam / q)
  return (w / np.sum(prior * w)).astype(np.float32)


def soft_encode(ab, bins):
  """ab [..., 2] -> soft targets [..., Q]: Gaussian weights (σ = SOFT_SIGMA) on the SOFT_NEIGHBOURS nearest bins,
  and the index of the nearest bin [...]. Bins tied with the last neighbour are kept too."""
  d2 = jnp.sum(jnp.square(ab[..., None, :] - jnp.asarray(bins, ab.dtype)), axis=-1)
  nearest = jnp.min(d2, axis=-1, keepdims=True)
  rest = d2
  for _ in range(SOFT_NEIGHBOURS - 1):  # repeated minima: faster than lax.top_k on XLA:CPU
    rest = jnp.where(rest <= jnp.min(rest, axis=-1, keepdims=True), jnp.inf, rest)
  kth = jnp.minimum(jnp.min(rest, axis=-1, keepdims=True), jnp.max(d2, axis=-1, keepdims=True))
  w = jnp.where(d2 <= kth, jnp.exp(-(d2 - nearest) / (2 * SOFT_SIGMA**2)), 0.0)
  return w / jnp.sum(w, axis=-1, keepdims=True), jnp.argmin(d2, axis=-1)


def annealed_mean(logits, bins, temperature):
  """H(Z) = E[f_T(Z)]: the mean ab of the bin distribution softmax(logits / T)."""
  return jax.nn.softmax(logits / temperature, axis=-1) @ jnp.asarray(bins, logits.dtype)


def downsample(x, stride: int):
  """Mean over stride x stride blocks of [B, H, W, C] (the last rows/columns that do not fill a block dropped)."""
  b, h, w, c = x.shape
  h, w = h // stride, w // stride
  return x[:, : h * stride, : w * stride].reshape(b, h, stride, w, stride, c).mean((2, 4))


def lightness_input(lab):
  """The network's input: L / 50 − 1, one channel."""
  return lab[..., :1] / 50.0 - 1.0


def colourfulness(rgb) -> float:
  """Hasler & Süsstrunk (2003): σ_rgyb + 0.3 μ_rgyb on 0..255 RGB, rg = R − G, yb = (R + G)/2 − B; mean over images."""
  x = np.asarray(rgb, np.float64) * 255.0
  rg = x[..., 0] - x[..., 1]
  yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
  axes = (1, 2)
  sigma = np.sqrt(rg.var(axes) + yb.var(axes))
  mu = np.sqrt(rg.mean(axes) ** 2 + yb.mean(axes) ** 2)
  return float(np.mean(sigma + 0.3 * mu))


def ab_auc(err, max_threshold: int = 150) -> float:
  """Area under the cumulative curve of per-pixel ab errors: mean over t = 0..150 of the fraction of pixels with
  error <= t."""
  thresholds = np.arange(max_threshold + 1)
  err = np.sort(np.asarray(err, np.float64).ravel())
  return float(np.mean(np.searchsorted(err, thresholds, side="right") / len(err)))


def colour_report(lab, ab_pred, ab_mean, to_rgb) -> dict:
  """The colour figures of ab_pred [N, H, W, 2] against the true Lab [N, H, W, 3], with the grey and mean-colour
  baselines; to_rgb(Lab) -> sRGB."""
  truth = lab[..., 1:]
  guesses = {"": ab_pred, "_grey": np.zeros_like(ab_pred), "_mean_colour": np.broadcast_to(ab_mean, ab_pred.shape)}
  out = {"colourfulness_truth": colourfulness(to_rgb(lab))}
  for suffix, ab in guesses.items():
    err = np.sqrt(np.sum(np.square(np.asarray(ab, np.float64) - truth), axis=-1))
    out[f"ab_error{suffix}"] = float(np.mean(err))
    out[f"ab_auc{suffix}"] = ab_auc(err)
    out[f"colourfulness{suffix}"] = colourfulness(to_rgb(np.concatenate([lab[..., :1], ab], axis=-1)))
  return out


def load(config):
  """The dataset, checked for colour and for config.crop_size."""
  ds = common.load(config)
  shape = ds.train_images.shape[1:]
  if shape[-1] != 3:
    raise ConfigError(
      f"config.dataset={config.dataset!r} is grayscale ({shape[-1]} channel): colorization needs colour (RGB) images"
    )
  if config.crop_size > min(shape[:2]):
    raise ConfigError(f"config.crop_size={config.crop_size} is larger than the {shape[0]}x{shape[1]} images")
  return ds


def build(config) -> train.Task:
  ds = load(config)
  labelled = None
  if ds.num_classes:
    labelled, _ = data_lib.split_labelled(ds.train_labels, config.num_labels, ds.num_classes, config.seed)
  classify = config.loss == "classification"
  bins = ab_bins()
  train_lab = np.asarray(jax.jit(augment.rgb_to_lab)(_prior_pixels(ds)))
  weights = rebalance_weights(train_lab[:, 1:], bins, float(config.rebalance_lambda))
  ab_mean = train_lab[:, 1:].mean(0)
  side = config.crop_size or min(ds.train_images.shape[1:3])
  net = reconstruction.encoder_decoder(config, (side, side, len(bins) if classify else 2), STRIDE, bottleneck=False)
  representation.check_encoder(common.encoder(config), _grey_like(ds))
  x_all = ds.train_images if ds.unlabelled_images is None else np.concatenate([ds.train_images, ds.unlabelled_images])
  b, in_dtype, temperature = config.batch_size, common.input_dtype(config), float(config.temperature)

  def sample(data, key):
    idx, keys = common.draw(key, b, data["x"].shape[0])

    def view(k, image):
      u = jax.random.uniform(k, (3,), in_dtype)
      image = augment.crop(common.to_float(image, in_dtype), u[:2], side)
      return augment.flip_lr(image, u[2]) if ds.allow_flip else image

    return {"lab": augment.rgb_to_lab(jax.vmap(view)(keys, data["x"][idx]))}

  def loss(params, state, batch, key):
    del key
    lab = batch["lab"]
    out, batch_stats = common.forward(net, params, state.batch_stats, lightness_input(lab))
    ab = downsample(lab[..., 1:], STRIDE).astype(out.dtype)
    if classify:
      target, nearest = soft_encode(ab, bins)
      per_example = losses.rebalanced_cross_entropy(out, target, jnp.asarray(weights, out.dtype)[nearest])
    else:
      per_example = losses.weighted_l2(out, ab / AB_SCALE, jnp.ones(ab.shape[:-1] + (1,), out.dtype))
    value = per_example.mean()
    return value, train.LossOutput({"loss": value}, batch_stats)

  def predict(variables, images):
    lab = augment.rgb_to_lab(common.to_float(images, in_dtype))
    out = net.apply(variables, lightness_input(lab), train=False)
    ab = annealed_mean(out, bins, temperature) if classify else out * AB_SCALE
    ab = jax.image.resize(ab.astype(lab.dtype), lab.shape[:-1] + (2,), "bilinear")
    return jnp.concatenate([lab, ab], axis=-1)

  init = lambda key: net.init(key, jnp.zeros((1, side, side, 1), in_dtype), train=False)
  encoder = common.encoder(config)

  def features(variables, images):
    lab = augment.rgb_to_lab(common.to_float(images, in_dtype))
    enc = representation.encoder_variables(variables)
    return encoder.apply(enc, lightness_input(lab), train=False)

  represent = None
  if labelled is not None:
    represent = representation.representation_eval(features, ds, labelled, init, config.seed)
  to_rgb = jax.jit(augment.lab_to_rgb)

  def evaluate(state, mesh, workdir, final):
    out = represent(state, mesh, workdir, final) if represent is not None else {}
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    both = parallel.batched_apply(predict, variables, ds.test_images, mesh, batch_size=256)
    lab, ab = both[..., :3], both[..., 3:]
    out.update(colour_report(lab, ab, ab_mean, lambda x: np.asarray(to_rgb(x))))
    if final and workdir:
      shown = slice(0, NUM_SHOWN)
      grey = np.repeat(lab[shown, ..., :1] / 100.0, 3, axis=-1)
      coloured = np.asarray(to_rgb(np.concatenate([lab[shown, ..., :1], ab[shown]], axis=-1)))
      pictures.save_grid([ds.test_images[shown], grey, coloured], os.path.join(workdir, PICTURE))
    return out

  info = {
    "num_classes": ds.num_classes,
    "model": config.model,
    "loss_type": config.loss,
    "num_ab_bins": len(bins),
    "representation_eval": "yes" if represent is not None else "skipped: the dataset has no class labels",
  }
  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    tx=optim.make(config),
    arrays={"x": x_all},
    evaluate=evaluate,
    images_per_step=b,
    info=info,
  )


def _prior_pixels(ds) -> np.ndarray:
  """At most PRIOR_PIXELS training pixels (a fixed draw) as float [N, 3] in [0, 1]."""
  pixels = ds.train_images.reshape(-1, 3)
  if len(pixels) > PRIOR_PIXELS:
    pixels = pixels[np.random.default_rng(0).choice(len(pixels), PRIOR_PIXELS, replace=False)]
  return pixels.astype(np.float32) / 255.0


def _grey_like(ds):
  """ds with one-channel images of the same size (the encoder sees L): for the encoder's shape check."""
  return dataclasses.replace(ds, train_images=ds.train_images[:2, ..., :1])
