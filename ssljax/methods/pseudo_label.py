"""Pseudo-Label (Lee, 2013): the model's own confident argmax labels its unlabelled batch.

loss = CE(labelled) + λu · ramp(step) · mean_b 1[max p_b ≥ τ] · CE(logits_b, argmax p_b), p = softmax(sg(logits)),
where the pseudo-label and the prediction it trains come from the same forward of the same view (the paper has no
second view; USB adds the threshold τ). One forward over the labelled and unlabelled batch.
"""

from ssljax import checks, losses, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "threshold": checks.PROBABILITY,
  "lambda_u": checks.NON_NEGATIVE,
  **common.RAMPUP_CHECKS,
  "view": checks.one_of("weak", "strong"),
  **common.ENTROPY_CHECKS,
}


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  sample = setup.sampler({"u": setup.view})

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_u), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    unsup, mask, pseudo = losses.fixmatch_loss(logits_u, logits_u, config.threshold)
    weight = config.lambda_u * common.rampup(state.step, config.rampup_steps, config.rampup_shape)
    ent, ent_metrics = common.entropy_term(config, logits_u)
    metrics = {
      "loss": sup + weight * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "lambda_u": weight,
      "mask_rate": mask.mean(),
      # Accuracy of the confident pseudo-labels against the hidden labels: the confirmation-bias alarm.
      "pseudo_label_acc": common.hidden_label_accuracy(pseudo, batch["y_u"], mask),
      **ent_metrics,
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats)

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    images_per_step=setup.b * (1 + setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "mask_rate", "pseudo_label_acc"),
  )
