"""Unsupervised Data Augmentation (Xie et al., 2020): the strong view of each unlabelled image should predict the
sharpened prediction on its weak view.

loss = CE(labelled) + λu · mean_b 1[max p_b ≥ β] · KL(sg(softmax(z_b / T)) ‖ softmax(logits_strong_b))
(losses.uda_loss), z the weak view's logits and p = softmax(z) unsharpened: confidence masking (β = threshold) and
sharpening (T = temperature), the paper's two tricks. One forward over labelled, weak and strong views.
"""

from ssljax import checks, losses, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "threshold": checks.PROBABILITY,
  "temperature": checks.POSITIVE,
  "lambda_u": checks.NON_NEGATIVE,
  **common.ENTROPY_CHECKS,
}


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  temperature, threshold = float(config.temperature), float(config.threshold)
  sample = setup.sampler({"u_w": setup.weak, "u_s": setup.strong})

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    unsup, mask, pseudo = losses.uda_loss(logits_w, logits_s, temperature, threshold)
    ent, ent_metrics = common.entropy_term(config, logits_s)
    metrics = {
      "loss": sup + config.lambda_u * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "mask_rate": mask.mean(),
      # Accuracy of the confident targets' argmax against the hidden labels: the confirmation-bias alarm.
      "pseudo_label_acc": common.hidden_label_accuracy(pseudo, batch["y_u"], mask),
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
