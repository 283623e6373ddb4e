"""Supervised baseline: the same network trained on the labelled examples only (what SSL results are compared with)."""

import jax
import jax.numpy as jnp
import optax

from ssljax import parallel, train
from ssljax.methods import common


def mixup(key, x, y_onehot, alpha):
  """MixUp (Zhang et al., 2018) over the global batch: x̃ = λx + (1−λ)x_π, ỹ likewise, λ ~ Beta(α, α) per example.

  Per-device code: π and λ are drawn for the whole global batch from the same key on every device, each device
  mixes its own rows with partners fetched by all_gather, so 1 and N devices give the same batch.
  """
  k_lam, k_perm = jax.random.split(key)
  b = x.shape[0]
  xs = jax.lax.all_gather(x, parallel.AXIS, tiled=True)
  ys = jax.lax.all_gather(y_onehot, parallel.AXIS, tiled=True)
  mine = jax.lax.axis_index(parallel.AXIS) * b + jnp.arange(b)
  partner = jax.random.permutation(k_perm, xs.shape[0])[mine]
  lam = jax.random.beta(k_lam, alpha, alpha, (xs.shape[0],))[mine]
  lx = lam.reshape((-1,) + (1,) * (x.ndim - 1))
  return lx * x + (1 - lx) * xs[partner], lam[:, None] * y_onehot + (1 - lam[:, None]) * ys[partner]


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  arrays = {"x_l": ds.train_images[labelled], "y_l": ds.train_labels[labelled]}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.sup_augment]
  b = config.batch_size

  def sample(data, key):
    il, keys = common.draw(key, b, data["x_l"].shape[0])
    return {"x": jax.vmap(view)(keys, common.to_float(data["x_l"][il])), "y": data["y_l"][il]}

  def loss(params, batch_stats, batch, key, step):
    del step
    x, y = batch["x"], jax.nn.one_hot(batch["y"], ds.num_classes)
    if config.mixup_alpha > 0:
      x, y = mixup(key, x, y, config.mixup_alpha)
    logits, mutated = model.apply(
      {"params": params, "batch_stats": batch_stats}, normalize(x), train=True, mutable=["batch_stats"]
    )
    loss = optax.softmax_cross_entropy(logits, y).mean()
    metrics = {"loss": loss, "train_acc": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}
    return loss, (mutated["batch_stats"], metrics)

  return common.classifier_task(
    config,
    ds,
    model,
    normalize,
    sample=sample,
    loss=loss,
    arrays=arrays,
    images_per_step=b,
    log_keys=("loss", "train_acc"),
  )


def run(config, workdir, eval_only=False):
  return train.train_and_evaluate(config, workdir, build, eval_only)
