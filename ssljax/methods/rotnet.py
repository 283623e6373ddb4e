"""RotNet (Gidaris et al., 2018): predict which of 0/90/180/270° an image was rotated by; the encoder learned for
that pretext task is evaluated as a representation.

One step: every device draws the same global batch of `batch_size` distinct training images (labels unused; every
train image is in the pool) and takes its slice; each image gets the weak augmentation and is then rotated all four
ways (augment.rotate90), so a step sees 4·batch_size examples with rotation labels 0..3, one forward with global
BatchNorm, cross-entropy.

Head: with a LINEAR rotation head the encoder's last layer specialises on rotation and probes below a random-init
encoder on digits; the MLP head (config.head='mlp': Dense → BN → ReLU → Dense(4), the default) takes that
specialisation off the encoder output. config.probe_layers names encoder submodules whose outputs are ReLU'd,
global-average-pooled and concatenated for the probe (for the CNN: 'BatchNorm_0', 'BatchNorm_1', 'BatchNorm_2'; the
last equals the output); () probes the encoder output.

results.json adds rotation_accuracy: test images at all 4 rotations each, inference mode.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, checks, losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation
from ssljax.models import heads

NUM_ROTATIONS = 4
HEADS = ("linear", "mlp")

CHECKS = {
  **representation.CHECKS,
  "head": checks.one_of(*HEADS),
  "head_hidden_dim": checks.NON_NEGATIVE_INT,
}


class RotNet(nn.Module):
  encoder: nn.Module
  head: nn.Module

  def __call__(self, x, train: bool):
    return self.head(self.encoder(x, train=train), train=train)

  def with_features(self, x, train: bool):
    h = self.encoder(x, train=train)
    return self.head(h, train=train), h


def rotate_all(images):
  """[B, H, W, C] → [4B, H, W, C] (rotation-major: all images by 0°, then 90°, ...) and labels [4B]."""
  rotated = jnp.concatenate([jax.vmap(functools.partial(augment.rotate90, k=k))(images) for k in range(NUM_ROTATIONS)])
  labels = jnp.repeat(jnp.arange(NUM_ROTATIONS, dtype=jnp.int32), images.shape[0])
  return rotated, labels


def rotated_test_set(images):
  """Every image by 0/90/180/270° (counter-clockwise, as augment.rotate90) on the host, with the rotation labels."""
  x = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in range(NUM_ROTATIONS)])
  y = np.repeat(np.arange(NUM_ROTATIONS), len(images))
  return np.ascontiguousarray(x), y


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  if ds.train_images.shape[1] != ds.train_images.shape[2]:
    raise ConfigError(f"RotNet needs square images; {ds.name} images are {ds.train_images.shape[1:3]}")
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  dtype, param_dtype = common.dtypes(config)
  head = heads.MLPHead(
    hidden_dim=config.head_hidden_dim or feature_dim,
    out_dim=NUM_ROTATIONS,
    num_layers=2 if config.head == "mlp" else 1,
    last_bn=False,
    bn_momentum=config.model_kwargs.get("bn_momentum", 0.9),
    axis_name=parallel.AXIS,
    dtype=dtype,
    param_dtype=param_dtype,
  )
  model = RotNet(encoder=encoder, head=head)
  x_all, _ = common.unlabelled_arrays(ds, slice(None))
  normalize = common.normalizer(ds)
  weak, _ = common.augmenters(config, ds)
  b, in_dtype = config.batch_size, common.input_dtype(config)
  layers = tuple(config.probe_layers)
  representation.check_layers(encoder, ds, layers)

  def sample(data, key):
    idx, keys = common.draw_distinct(key, b, data["x"].shape[0])
    x, y = rotate_all(jax.vmap(weak)(keys, common.to_float(data["x"][idx], in_dtype)))
    return {"x": x, "y": y}

  def loss(params, state, batch, key):
    del key
    x = normalize(batch["x"])
    (logits, h), batch_stats = common.forward(model, params, state.batch_stats, x, method=RotNet.with_features)
    value = losses.cross_entropy(logits, batch["y"]).mean()
    metrics = {"loss": value, "rotation_acc": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}
    metrics.update(representation.collapse_metrics(h[: h.shape[0] // NUM_ROTATIONS]))  # the unrotated images
    return value, train.LossOutput(metrics, batch_stats)

  features = representation.features_fn(encoder, ds, layers, in_dtype)
  rot_x, rot_y = rotated_test_set(ds.test_images)
  logits_fn = lambda variables, x: model.apply(variables, normalize(common.to_float(x, in_dtype)), train=False)

  def extra(state, mesh):
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    return {"rotation_accuracy": train.classifier_accuracy(logits_fn, variables, rot_x, rot_y, mesh)}

  probe_dim = jax.eval_shape(
    lambda v, x: features(v, x), jax.eval_shape(common.init_fn(model, ds, in_dtype), jax.random.key(0)), x_all[:2]
  ).shape[-1]
  return representation.ssl_task(
    config,
    ds,
    labelled,
    model=model,
    features=features,
    feature_dim=probe_dim,
    embed_dim=feature_dim,
    collapse_hint="for RotNet usually a learning rate too high (config.lr)",
    sample=sample,
    loss=loss,
    arrays={"x": x_all},
    images_per_step=NUM_ROTATIONS * b,
    log_keys=("loss", "rotation_acc"),
    info={"feature_dim": feature_dim, "head": config.head, "probe_layers": ",".join(layers) or "output"},
    extra=extra,
  )
