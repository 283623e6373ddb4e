"""Supervised baseline: the same network trained on the labelled examples only (what SSL results are compared with).

With config.pseudo_labels (a file a self-training, Noisy Student or co-training stage wrote) the labelled set also
holds those unlabelled examples with their pseudo-labels, hard or soft: a self-training round is this method.
Batches draw from that whole pool uniformly, or, with config.labelled_fraction > 0, that fraction of each batch from
the true labels and the rest from the pseudo-labels (Noisy Student's fixed labelled/unlabelled batch ratio; a few
true labels otherwise drown among the teacher's guesses).
"""

import jax
import jax.numpy as jnp
import optax

from ssljax import checks, mixup, train
from ssljax.methods import common

CHECKS = {
  "sup_augment": checks.one_of("weak", "strong"),
  "mixup_alpha": checks.NON_NEGATIVE,
  "labelled_fraction": checks.UNIT,
  **common.ENTROPY_CHECKS,
}


def build(config) -> train.Task:
  ds, labelled, unlabelled = common.load_split(config)
  x_l, y_l, t_l = common.labelled_pool(config, ds, labelled, unlabelled)  # with config.pseudo_labels, if any
  arrays = {"x_l": x_l, "y_l": y_l, "t_l": t_l}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.sup_augment]
  b, dtype = config.batch_size, common.input_dtype(config)

  n_true, n_pool = len(labelled), len(x_l)  # the pool's first n_true rows hold the true labels
  n_l = round(config.labelled_fraction * b) if n_pool > n_true else 0

  def sample(data, key):
    if n_l:
      il, keys = common.draw_parts(key, [(n_l, 0, n_true), (b - n_l, n_true, n_pool)])
    else:
      il, keys = common.draw(key, b, n_pool)
    x = jax.vmap(view)(keys, common.to_float(data["x_l"][il], dtype))
    return {"x": x, "y": data["y_l"][il], "t": data["t_l"][il].astype(x.dtype)}

  def loss(params, state, batch, key):
    x, y = batch["x"], batch["t"]  # one-hot labels, or a pseudo-label file's soft targets
    if config.mixup_alpha > 0:
      x, y, _ = mixup.global_mixup(key, [(x, y)], config.mixup_alpha)
    # Dropout masks (model_kwargs.dropout) from their own key, so that the MixUp draw stays as it was.
    rngs = {"dropout": jax.random.fold_in(key, 1)}
    logits, batch_stats = common.forward(model, params, state.batch_stats, normalize(x), rngs=rngs)
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
