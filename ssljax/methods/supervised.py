"""Supervised baseline: the same network trained on the labelled examples only (what SSL results are compared with)."""

import jax
import jax.numpy as jnp
import optax

from ssljax import checks, mixup, train
from ssljax.methods import common

CHECKS = {
  "sup_augment": checks.one_of("weak", "strong"),
  "mixup_alpha": checks.NON_NEGATIVE,
  **common.ENTROPY_CHECKS,
}


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  arrays = {"x_l": ds.train_images[labelled], "y_l": ds.train_labels[labelled]}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.sup_augment]
  b, dtype = config.batch_size, common.input_dtype(config)

  def sample(data, key):
    il, keys = common.draw(key, b, data["x_l"].shape[0])
    return {"x": jax.vmap(view)(keys, common.to_float(data["x_l"][il], dtype)), "y": data["y_l"][il]}

  def loss(params, state, batch, key):
    x, y = batch["x"], jax.nn.one_hot(batch["y"], ds.num_classes, dtype=batch["x"].dtype)
    if config.mixup_alpha > 0:
      x, y, _ = mixup.global_mixup(key, [(x, y)], config.mixup_alpha)
    logits, batch_stats = common.forward(model, params, state.batch_stats, normalize(x))
    ent, ent_metrics = common.entropy_term(config, logits)  # it has no unlabelled data: on its own batch
    value = optax.softmax_cross_entropy(logits, y).mean() + ent
    metrics = {"loss": value, "train_acc": jnp.mean(jnp.argmax(logits, -1) == batch["y"]), **ent_metrics}
    return value, train.LossOutput(metrics, batch_stats)

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
