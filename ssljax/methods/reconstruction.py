"""Pieces the reconstruction pretext tasks share (inpainting, denoising, deblurring): the encoder-decoder, the train
step around a method's corruption, and the evaluation.

One step: every device draws the same global batch of `batch_size` distinct training images (labels unused; every
train image is in the pool) and takes its slice; each image gets the weak augmentation (the clean target), then the
method's corruption with its own per-example key; the encoder-decoder reconstructs the clean image from the
corrupted one (both normalised by the dataset's channel statistics) under the per-pixel weighted L2 loss
(losses.weighted_l2) with the weights the corruption returns; BatchNorm statistics over the global batch.

Model: the configured encoder (common.encoder, with its last feature map kept: pool=False) and a small decoder
(ssljax/models/decoder.py). config.bottleneck=True decodes from the globally pooled feature vector, the
representation the probe evaluates (a context encoder's / autoencoder's code); False decodes from the last feature
map (a fully convolutional encoder-decoder).

Evaluation: the representation report of the encoder's pooled output (representation.representation_eval: probes,
kNN, k-means NMI, t-SNE, the random-init probe), then the method's reconstruction figures on the test images, each
corrupted once with keys drawn from EVAL_SEED (the same corrupted test set for every run and seed), and at the end
of the run `reconstructions.png`: rows original / corrupted input / reconstruction of the first test images.
"""

import os
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import checks, losses, optim, parallel, pictures, train
from ssljax.methods import common, representation
from ssljax.models.decoder import Decoder

EVAL_SEED = 0
PICTURE = "reconstructions.png"
NUM_SHOWN = 8

CHECKS = {
  "bottleneck": checks.BOOL,
  "decoder_width": checks.POSITIVE_INT,
}


class EncoderDecoder(nn.Module):
  encoder: nn.Module  # pool=False: returns its last feature map
  decoder: nn.Module
  bottleneck: bool
  stride: int = 1  # without the bottleneck, outputs at 1/stride of the input's resolution

  def __call__(self, x, train: bool):
    maps = self.encoder(x, train=train)
    if self.bottleneck:
      return self.decoder(jnp.mean(maps, axis=(1, 2)), train=train)
    return self.decoder(maps, train=train, size=(x.shape[1] // self.stride, x.shape[2] // self.stride))


def encoder_decoder(config, out_shape, stride: int = 1, bottleneck: bool | None = None) -> EncoderDecoder:
  """The configured encoder and a Decoder to out_shape (H, W, C); bottleneck None: config.bottleneck."""
  dtype, param_dtype = common.dtypes(config)
  decoder = Decoder(
    out_shape=tuple(out_shape),
    width=config.decoder_width,
    bn_momentum=config.model_kwargs.get("bn_momentum", 0.9),
    axis_name=parallel.AXIS,
    dtype=dtype,
    param_dtype=param_dtype,
  )
  encoder = common.encoder(config, pool=False)
  bottleneck = config.bottleneck if bottleneck is None else bottleneck
  return EncoderDecoder(encoder=encoder, decoder=decoder, bottleneck=bottleneck, stride=stride)


def psnr(images, references):
  """Mean over images of 10·log10(1 / MSE) for images in [0, 1] (an exact copy counts as 100 dB)."""
  axes = tuple(range(1, np.ndim(images)))
  mse = np.mean(np.square(np.asarray(images, np.float64) - np.asarray(references, np.float64)), axis=axes)
  return float(np.mean(np.where(mse > 0, -10.0 * np.log10(np.maximum(mse, 1e-10)), 100.0)))


def psnr_report(clean, corrupted, recon, hidden):
  """PSNR of the reconstruction and of the corrupted input, against the clean test images."""
  del hidden
  return {"psnr": psnr(recon, clean), "psnr_input": psnr(corrupted, clean)}


def build(config, make_corrupt: Callable, report: Callable, info: dict | None = None) -> train.Task:
  """The Task of a reconstruction pretext task.

  make_corrupt(ds) -> corrupt(key, image) -> (corrupted, weight, hidden): per example, on device, for float images
    [H, W, C] in [0, 1]; weight [H, W, 1] weighs the L2 loss per pixel; hidden [H, W, 1] marks the pixels the report
    scores. make_corrupt raises ConfigError for settings that do not fit the dataset's images (before any compile).
  report(clean, corrupted, recon, hidden) -> dict of floats, on host arrays of the test set in [0, 1].
  """
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  corrupt = make_corrupt(ds)
  feature_dim = representation.check_encoder(common.encoder(config), ds)
  net = encoder_decoder(config, ds.train_images.shape[1:])
  x_all, _ = common.unlabelled_arrays(ds, slice(None))
  normalize = common.normalizer(ds)
  mean, std = np.asarray(ds.mean), np.asarray(ds.std)
  weak, _ = common.augmenters(config, ds)
  b, in_dtype = config.batch_size, common.input_dtype(config)

  def sample(data, key):
    idx, keys = common.draw_distinct(key, b, data["x"].shape[0])
    k_view, k_corrupt = jax.vmap(jax.random.split, out_axes=1)(keys)
    clean = jax.vmap(weak)(k_view, common.to_float(data["x"][idx], in_dtype))
    corrupted, weight, _ = jax.vmap(corrupt)(k_corrupt, clean)
    return {"clean": clean, "input": corrupted, "weight": weight}

  def loss(params, state, batch, key):
    del key
    pred, batch_stats = common.forward(net, params, state.batch_stats, normalize(batch["input"]))
    target = normalize(batch["clean"]).astype(pred.dtype)
    value = losses.weighted_l2(pred, target, batch["weight"]).mean()
    return value, train.LossOutput({"loss": value}, batch_stats)

  def reconstruct(variables, x):
    out = net.apply(variables, normalize(x), train=False)
    return jnp.clip(out * std.astype(out.dtype) + mean.astype(out.dtype), 0.0, 1.0)

  init = common.init_fn(net, ds, in_dtype)
  features = representation.features_fn(common.encoder(config), ds, dtype=in_dtype)
  represent = representation.representation_eval(features, ds, labelled, init, config.seed)
  test_set = {}

  def evaluate(state, mesh, workdir, final):
    out = represent(state, mesh, workdir, final)
    if not test_set:
      keys = jax.random.split(jax.random.key(EVAL_SEED), len(ds.test_images))
      clean = common.to_float(jnp.asarray(ds.test_images), in_dtype)
      corrupted, _, hidden = jax.jit(jax.vmap(corrupt))(keys, clean)
      test_set.update(zip(("clean", "corrupted", "hidden"), jax.device_get((clean, corrupted, hidden))))
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    recon = parallel.batched_apply(reconstruct, variables, test_set["corrupted"], mesh)
    out.update(report(test_set["clean"], test_set["corrupted"], recon, test_set["hidden"]))
    if final and workdir:
      shown = [test_set["clean"], test_set["corrupted"], recon]
      pictures.save_grid([x[:NUM_SHOWN] for x in shown], os.path.join(workdir, PICTURE))
    return out

  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    tx=optim.make(config),
    arrays={"x": x_all},
    evaluate=evaluate,
    images_per_step=b,
    info={
      "num_classes": ds.num_classes,
      "model": config.model,
      "feature_dim": feature_dim,
      "bottleneck": config.bottleneck,
      **(info or {}),
    },
  )
