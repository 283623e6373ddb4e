"""Entropy minimisation (Grandvalet & Bengio, 2005): confident predictions on the unlabelled data.

loss = CE(labelled) + entropy_weight · ramp(step) · mean_b H(p_b), p = softmax(logits) of one view of each
unlabelled image, with the gradient through p. The same term, unramped, is what config.entropy_weight adds to any
other classifier method (common.entropy_term). One forward over the labelled and unlabelled batch.
"""

import jax
import jax.numpy as jnp

from ssljax import checks, losses, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "entropy_weight": checks.POSITIVE,  # 0 would be the supervised baseline
  **common.RAMPUP_CHECKS,
  "view": checks.one_of("weak", "strong"),
}


def build(config) -> train.Task:
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  arrays = {"x_l": ds.train_images[labelled], "y_l": ds.train_labels[labelled], "x_u": x_u, "y_u": y_u}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.view]
  b, mu, dtype = config.batch_size, config.mu, common.input_dtype(config)
  sample = common.labelled_unlabelled_sampler(b, mu, weak, {"u": view}, dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_u), batch_stats = common.joint_logits(
      model, params, state.batch_stats, normalize, [batch["x_l"], batch["u"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    ramp = common.rampup(state.step, config.rampup_steps, config.rampup_shape)
    unsup, ent_metrics = common.entropy_term(config, logits_u, scale=ramp)
    metrics = {
      "loss": sup + unsup,
      "sup_loss": sup,
      "entropy": ent_metrics["entropy"],
      "entropy_weight": config.entropy_weight * ramp,
      "max_prob": jnp.mean(jnp.max(jax.nn.softmax(logits_u), -1)),
      "unlabelled_acc": common.hidden_label_accuracy(jnp.argmax(logits_u, -1), batch["y_u"]),
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats)

  return common.classifier_task(
    config,
    ds,
    model,
    normalize,
    sample=sample,
    loss=loss,
    arrays=arrays,
    images_per_step=b * (1 + mu),
    log_keys=("loss", "sup_loss", "entropy", "entropy_weight", "unlabelled_acc"),
  )
