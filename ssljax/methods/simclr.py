"""SimCLR (Chen et al., 2020): two augmented views of each image, an encoder and an MLP projection head, and the
NT-Xent contrastive loss with the negatives gathered from every device.

One step on the spine (ssljax/train.py): every device draws the same global batch of `batch_size` distinct training
images (labels are never used in training; every train image is in the pool) and takes its slice; each image gets two
views with independent per-example keys; the encoder + projection head run on both views at once with BatchNorm
statistics over the whole global batch of 2N views (axis 'data'); `losses.nt_xent(z1, z2, τ, axis_name='data')`
scores this device's 2B anchors against all 2N projections of the global batch (each anchor's positive is its other
view, the other 2N−2 are negatives), and the spine differentiates local_mean / num_devices. Optimiser: LARS with
linear warm-up then cosine decay (config.optimizer='lars', schedule='warmup_cosine'), BatchNorm parameters and
biases excluded from weight decay and from the trust-ratio adaptation (optim.kernel_mask).

Projection head (SimCLR's nonlinear head, as its reference code): Dense(hidden, no bias) → BatchNorm → ReLU →
Dense(proj_dim, no bias) → BatchNorm (no bias); hidden = the encoder's feature dim unless config.proj_hidden_dim.
The representation evaluated is the encoder output h (before the head): ssljax/methods/representation.py.

Views (config.augment.view):
  'simclr'  augment.simclr_view: random resized crop (area crop_area), flip where the dataset allows it, colour
            jitter of strength s with p=0.8, grayscale p=0.2, Gaussian blur only if config.augment.blur (large images).
  'affine'  augment.strong(style='affine'): small random affine warp (rotation ±20°, zoom 0.85–1.15, shear ±0.3,
            shift), contrast/brightness jitter, Gaussian noise, then Cutout: the view for tiny images (8×8 digits),
            where a crop leaves too little.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssljax import augment, checks, losses, parallel, train
from ssljax.methods import common, representation
from ssljax.models import heads

VIEWS = ("simclr", "affine")

CHECKS = {
  **representation.CHECKS,
  "temperature": checks.POSITIVE,
  "num_views": checks.Check(lambda v: v == 2, "2 (SimCLR compares exactly 2 views per image)", 3),
  "batch_size": checks.Check(
    lambda v: isinstance(v, int) and v >= 2,
    "an integer >= 2 (each image's negatives are the other images of the batch)",
    1,
  ),
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.NON_NEGATIVE_INT,
  "augment.view": checks.one_of(*VIEWS),
}


class SimCLRNet(nn.Module):
  """encoder (images → h [B, F]) followed by the projection head (h → z [B, proj_dim])."""

  encoder: nn.Module
  head: nn.Module

  def __call__(self, x, train: bool):
    return self.head(self.encoder(x, train=train), train=train)


def view_fn(config, ds):
  a = config.augment
  if a.view == "simclr":
    return functools.partial(
      augment.simclr_view, allow_flip=ds.allow_flip, strength=a.strength, crop_area=tuple(a.crop_area), blur=a.blur
    )
  return functools.partial(
    augment.strong, allow_flip=ds.allow_flip, max_shift=a.strong_shift, cutout=a.cutout, style="affine"
  )


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  dtype, param_dtype = common.dtypes(config)
  head = heads.MLPHead(
    hidden_dim=config.proj_hidden_dim or feature_dim,
    out_dim=config.proj_dim,
    bn_momentum=config.model_kwargs.get("bn_momentum", 0.9),
    axis_name=parallel.AXIS,
    dtype=dtype,
    param_dtype=param_dtype,
  )
  model = SimCLRNet(encoder=encoder, head=head)
  x_all, _ = common.unlabelled_arrays(ds, slice(None))  # every train image (+ unlabelled-only extras)
  normalize = common.normalizer(ds)
  view = view_fn(config, ds)
  b, temperature, in_dtype = config.batch_size, float(config.temperature), common.input_dtype(config)

  def sample(data, key):
    idx, keys = common.draw_distinct(key, b, data["x"].shape[0])
    x = common.to_float(data["x"][idx], in_dtype)
    k1, k2 = jax.vmap(jax.random.split, out_axes=1)(keys)
    return {"v1": jax.vmap(view)(k1, x), "v2": jax.vmap(view)(k2, x)}

  def loss(params, state, batch, key):
    del key
    x = jnp.concatenate([batch["v1"], batch["v2"]])  # one forward: BatchNorm sees all 2N views
    z, batch_stats = common.forward(model, params, state.batch_stats, normalize(x))
    z1, z2 = jnp.split(z.astype(jnp.promote_types(z.dtype, jnp.float32)), 2)
    value, accuracy = losses.nt_xent(z1, z2, temperature, axis_name=parallel.AXIS)
    metrics = {"loss": value, "contrast_acc": accuracy, **representation.collapse_metrics(z1)}
    return value, train.LossOutput(metrics, batch_stats)

  return representation.ssl_task(
    config,
    ds,
    labelled,
    model=model,
    features=representation.features_fn(encoder, ds, dtype=in_dtype),
    feature_dim=feature_dim,
    embed_dim=config.proj_dim,
    collapse_hint="for SimCLR usually a temperature too high or views too weak (config.temperature, config.augment)",
    sample=sample,
    loss=loss,
    arrays={"x": x_all},
    images_per_step=2 * b,
    log_keys=("loss", "contrast_acc"),
    info={},
  )
