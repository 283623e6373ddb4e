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
            shift), contrast/brightness jitter, Gaussian noise, then Cutout. On 8×8 digits this beat the crop view
            (REFERENCES.md: both geometric and photometric parts were needed; either alone lost 5–10 probe points).
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ssljax import augment, losses, optim, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation

VIEWS = ("simclr", "affine")


class ProjectionHead(nn.Module):
  """Dense → BN → ReLU → Dense → BN, SimCLR's nonlinear projection head; BatchNorm statistics over `axis_name`."""

  hidden_dim: int
  out_dim: int
  bn_momentum: float = 0.9
  axis_name: str | None = None

  @nn.compact
  def __call__(self, h, train: bool):
    norm = functools.partial(
      nn.BatchNorm, use_running_average=not train, momentum=self.bn_momentum, axis_name=self.axis_name
    )
    x = nn.Dense(self.hidden_dim, use_bias=False)(h)
    x = nn.relu(norm()(x))
    x = nn.Dense(self.out_dim, use_bias=False)(x)
    return norm(use_bias=False)(x)


class SimCLRNet(nn.Module):
  """encoder (images → h [B, F]) followed by the projection head (h → z [B, proj_dim])."""

  encoder: nn.Module
  head: nn.Module

  def __call__(self, x, train: bool):
    return self.head(self.encoder(x, train=train), train=train)

  def features(self, x):
    return self.encoder(x, train=False)


def check_config(config):
  """The SimCLR-specific bad inputs, each as one ConfigError line (before any data is loaded)."""
  if not config.temperature > 0:
    raise ConfigError(f"temperature={config.temperature} must be > 0 (SimCLR uses 0.5 on CIFAR-10)")
  if config.num_views != 2:
    raise ConfigError(f"num_views={config.num_views}: SimCLR compares exactly 2 views per image; set num_views=2")
  if config.batch_size < 2:
    raise ConfigError(
      f"batch_size={config.batch_size}: SimCLR needs at least 2 images per step (the negatives of "
      "each image are the other images of the global batch)"
    )
  if config.augment.view not in VIEWS:
    raise ConfigError(f"augment.view={config.augment.view!r}; choose one of {', '.join(VIEWS)}")


def view_fn(config, ds):
  a = config.augment
  if a.view == "simclr":
    return functools.partial(
      augment.simclr_view, allow_flip=ds.allow_flip, strength=a.strength, crop_area=tuple(a.crop_area), blur=a.blur
    )
  return functools.partial(
    augment.strong, allow_flip=ds.allow_flip, max_shift=a.strong_shift, cutout=a.cutout, style="affine"
  )


def _contrast_accuracy(z1, z2):
  """How often each anchor's nearest other projection (cosine, over the global batch) is its positive."""
  z1, z2 = losses.l2_normalize(z1), losses.l2_normalize(z2)
  b = z1.shape[0]
  n = b * lax.axis_size(parallel.AXIS)
  g = jnp.concatenate([lax.all_gather(z1, parallel.AXIS, tiled=True), lax.all_gather(z2, parallel.AXIS, tiled=True)])
  local = jnp.arange(b) + lax.axis_index(parallel.AXIS) * b
  self_idx = jnp.concatenate([local, local + n])
  sims = jnp.concatenate([z1, z2]) @ g.T
  sims = jnp.where(jnp.arange(2 * n)[None, :] == self_idx[:, None], -jnp.inf, sims)
  return jnp.mean(jnp.argmax(sims, -1) == jnp.concatenate([local + n, local]))


def build(config) -> train.Task:
  check_config(config)
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  bn_momentum = config.get("model_kwargs", {}).get("bn_momentum", 0.9)
  head = ProjectionHead(
    hidden_dim=config.get("proj_hidden_dim", 0) or feature_dim,
    out_dim=config.proj_dim,
    bn_momentum=bn_momentum,
    axis_name=parallel.AXIS,
  )
  model = SimCLRNet(encoder=encoder, head=head)
  x_all, _ = common.unlabelled_arrays(ds, slice(None))  # every train image (+ unlabelled-only extras)
  arrays = {"x": x_all}
  normalize = common.normalizer(ds)
  view = view_fn(config, ds)
  b, temperature = config.batch_size, float(config.temperature)

  def sample(data, key):
    idx, keys = representation.draw_distinct(key, b, data["x"].shape[0])
    x = common.to_float(data["x"][idx])
    k1, k2 = jax.vmap(jax.random.split, out_axes=1)(keys)
    return {"v1": jax.vmap(view)(k1, x), "v2": jax.vmap(view)(k2, x)}

  def loss(params, batch_stats, batch, key, step):
    del key, step
    x = jnp.concatenate([batch["v1"], batch["v2"]])  # one forward: BatchNorm sees all 2N views
    z, mutated = model.apply(
      {"params": params, "batch_stats": batch_stats}, normalize(x), train=True, mutable=["batch_stats"]
    )
    z1, z2 = jnp.split(z, 2)
    value = losses.nt_xent(z1, z2, temperature, axis_name=parallel.AXIS)
    metrics = {"loss": value, "contrast_acc": _contrast_accuracy(lax.stop_gradient(z1), lax.stop_gradient(z2))}
    return value, (mutated["batch_stats"], metrics)

  features = representation.image_features(
    lambda variables, x: model.apply(variables, x, method=SimCLRNet.features), ds
  )
  evaluate = representation.representation_eval(
    features, ds, labelled, lambda state: {"params": state.params, "batch_stats": state.batch_stats}
  )
  return train.Task(
    init=common.init_fn(model, ds),
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays=arrays,
    images_per_step=2 * b,
    log_keys=("loss", "contrast_acc"),
    info={"num_classes": ds.num_classes, "model": config.model, "feature_dim": feature_dim},
  )


def run(config, workdir, eval_only=False):
  return train.train_and_evaluate(config, workdir, build, eval_only)
