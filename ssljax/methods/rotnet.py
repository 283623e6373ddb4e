"""RotNet (Gidaris et al., 2018): predict which of 0/90/180/270° an image was rotated by; the encoder learned for
that pretext task is evaluated as a representation.

One step on the spine (ssljax/train.py): every device draws the same global batch of `batch_size` distinct training
images (labels unused; every train image is in the pool) and takes its slice; each image gets the weak augmentation
(config.augment: shift + noise, flip where allowed) and is then rotated all four ways (augment.rotate90), so a step
sees 4·batch_size examples with rotation labels 0..3, one forward with global BatchNorm, cross-entropy.

Head and probed features (what was found on digits):
  - The issue (and REFERENCES.md) report that with a LINEAR rotation head the encoder's last layer specialises on
    rotation and its features probe below a random-init encoder's; the MLP head (config.head='mlp': Dense → BN →
    ReLU → Dense(4), the default) takes that specialisation off the encoder output. config.head='linear' is kept for
    that comparison.
  - Which features to probe was measured on one trained digits run (CNN width 32, MLP head, 1000 steps, seed 0;
    40-label probe, trained vs the same features of the run's random init): encoder output 87.5% vs 83.9%
    (kNN 96.7 vs 95.6, NMI 0.66 vs 0.33); conv block 1 alone 72.8 vs 69.2; block 2 alone 82.2 vs 78.3; blocks 2+3
    concatenated 90.3 vs 86.9. Earlier layers did not beat the output here, and concatenating raises trained and
    random alike (same ~3.5-point margin), so the default probes the encoder output (config.probe_layers = ()).
    config.probe_layers names encoder submodules whose outputs are ReLU'd, global-average-pooled and concatenated
    (for the CNN: 'BatchNorm_0', 'BatchNorm_1', 'BatchNorm_2'; the last equals the output).
results.json adds:
  rotation_accuracy                   test images, all 4 rotations each (4 × the test set), inference mode.
  linear_probe_accuracy_random_init   the same probe on the same features of the same architecture with the run's
                                      own initial (random) weights: the floor a pretext task has to clear.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, losses, optim, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation

NUM_ROTATIONS = 4
HEADS = ("linear", "mlp")


class RotationHead(nn.Module):
  """'linear': Dense(4); 'mlp': Dense(hidden) → BN → ReLU → Dense(4)."""

  kind: str
  hidden_dim: int
  bn_momentum: float = 0.9
  axis_name: str | None = None

  @nn.compact
  def __call__(self, h, train: bool):
    if self.kind == "mlp":
      h = nn.Dense(self.hidden_dim, use_bias=False)(h)
      h = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, axis_name=self.axis_name)(h)
      h = nn.relu(h)
    return nn.Dense(NUM_ROTATIONS)(h)


class RotNet(nn.Module):
  encoder: nn.Module
  head: nn.Module

  def __call__(self, x, train: bool):
    return self.head(self.encoder(x, train=train), train=train)


def check_config(config):
  if config.head not in HEADS:
    raise ConfigError(f"head={config.head!r}; choose one of {', '.join(HEADS)}")
  if not isinstance(config.batch_size, int) or config.batch_size < 1:
    raise ConfigError(f"batch_size={config.batch_size!r} must be a positive integer")


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
  check_config(config)
  ds, labelled, _ = common.load_split(config)  # the probe's labelled subset: the same draw as FixMatch
  if ds.train_images.shape[1] != ds.train_images.shape[2]:
    raise ConfigError(f"RotNet needs square images; {ds.name} images are {ds.train_images.shape[1:3]}")
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  bn_momentum = config.get("model_kwargs", {}).get("bn_momentum", 0.9)
  head = RotationHead(
    kind=config.head,
    hidden_dim=config.get("head_hidden_dim", 0) or feature_dim,
    bn_momentum=bn_momentum,
    axis_name=parallel.AXIS,
  )
  model = RotNet(encoder=encoder, head=head)
  x_all, _ = common.unlabelled_arrays(ds, slice(None))
  arrays = {"x": x_all}
  normalize = common.normalizer(ds)
  weak, _ = common.augmenters(config, ds)
  b = config.batch_size
  layers = tuple(config.get("probe_layers", ()))
  if layers:  # a misspelt layer fails now, not in the evaluation after training
    x = jax.ShapeDtypeStruct((2,) + ds.train_images.shape[1:], jnp.float32)
    jax.eval_shape(
      lambda x: representation.encoder_features(encoder, encoder.init(jax.random.key(0), x, train=False), x, layers), x
    )

  def sample(data, key):
    idx, keys = representation.draw_distinct(key, b, data["x"].shape[0])
    x, y = rotate_all(jax.vmap(weak)(keys, common.to_float(data["x"][idx])))
    return {"x": x, "y": y}

  def loss(params, batch_stats, batch, key, step):
    del key, step
    logits, mutated = model.apply(
      {"params": params, "batch_stats": batch_stats}, normalize(batch["x"]), train=True, mutable=["batch_stats"]
    )
    value = losses.cross_entropy(logits, batch["y"]).mean()
    metrics = {"loss": value, "rotation_acc": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}
    return value, (mutated["batch_stats"], metrics)

  init = common.init_fn(model, ds)

  def encoder_vars(variables):
    return {k: v["encoder"] for k, v in variables.items() if "encoder" in v}

  features = representation.image_features(
    lambda variables, x: representation.encoder_features(encoder, encoder_vars(variables), x, layers), ds
  )
  rot_x, rot_y = rotated_test_set(ds.test_images)
  logits_fn = representation.image_features(lambda variables, x: model.apply(variables, x, train=False), ds)
  random_init = {}

  def extra(state, mesh):
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    out = {"rotation_accuracy": train.classifier_accuracy(logits_fn, variables, rot_x, rot_y, mesh)}
    if "probe" not in random_init:  # the run's own initial weights (train.init_state draws them the same way)
      initial = jax.jit(init)(jax.random.key(config.seed, impl="rbg"))
      random_init["probe"] = representation.linear_probe_only(features, initial, ds, labelled, mesh)
    out["linear_probe_accuracy_random_init"] = random_init["probe"]
    return out

  evaluate = representation.representation_eval(
    features, ds, labelled, lambda state: {"params": state.params, "batch_stats": state.batch_stats}, extra
  )
  info = {
    "num_classes": ds.num_classes,
    "model": config.model,
    "head": config.head,
    "probe_layers": ",".join(layers) or "output",
  }
  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays=arrays,
    images_per_step=NUM_ROTATIONS * b,
    log_keys=("loss", "rotation_acc"),
    info=info,
  )


def run(config, workdir, eval_only=False):
  return train.train_and_evaluate(config, workdir, build, eval_only)
