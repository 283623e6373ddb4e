"""FixMatch (Sohn et al., 2020): confident pseudo-labels from weak views supervise strong views."""

import jax.numpy as jnp

from ssljax import checks, losses, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "threshold": checks.PROBABILITY,
  "lambda_u": checks.NON_NEGATIVE,
  **common.ENTROPY_CHECKS,
}


def build(config) -> train.Task:
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  x_l, y_l, _ = common.labelled_pool(config, ds, labelled, unlabelled)  # with config.pseudo_labels, if any
  arrays = {"x_l": x_l, "y_l": y_l, "x_u": x_u, "y_u": y_u}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  b, mu, dtype = config.batch_size, config.mu, common.input_dtype(config)
  sample = common.labelled_unlabelled_sampler(b, mu, weak, {"u_w": weak, "u_s": strong}, dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      model, params, state.batch_stats, normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    unsup, mask, pseudo = losses.fixmatch_loss(logits_w, logits_s, config.threshold)
    ent, ent_metrics = common.entropy_term(config, logits_s)
    metrics = {
      "loss": sup + config.lambda_u * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "mask_rate": mask.mean(),
      # Accuracy of the confident pseudo-labels against the hidden labels: the confirmation-bias alarm.
      "pseudo_label_acc": common.hidden_label_accuracy(pseudo, batch["y_u"], mask),
      "train_acc": jnp.mean(jnp.argmax(logits_l, -1) == batch["y_l"]),
      **ent_metrics,
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
    images_per_step=b * (1 + 2 * mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "mask_rate", "pseudo_label_acc"),
  )
