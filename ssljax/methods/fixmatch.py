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
  setup = common.semi_supervised(config, pseudo_labels=True)
  sample = setup.sampler({"u_w": setup.weak, "u_s": setup.strong})

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
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

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    images_per_step=setup.b * (1 + 2 * setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "mask_rate", "pseudo_label_acc"),
  )
