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
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  arrays = {"x_l": ds.train_images[labelled], "y_l": ds.train_labels[labelled], "x_u": x_u, "y_u": y_u}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  b, mu, dtype = config.batch_size, config.mu, common.input_dtype(config)
  temperature, threshold = float(config.temperature), float(config.threshold)
  sample = common.labelled_unlabelled_sampler(b, mu, weak, {"u_w": weak, "u_s": strong}, dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      model, params, state.batch_stats, normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
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
