"""Π-model (Laine & Aila, 2017): two stochastic views of each unlabelled image should get the same prediction.

loss = CE(labelled) + λu · ramp(step) · mean_b (1/C) ‖p(û¹_b) − p(û²_b)‖², p = softmax; both views are independent
draws of config.view and, as in the paper's code, the gradient flows through both predictions. One forward over the
labelled and both unlabelled views (global BatchNorm statistics).
"""

import jax
import jax.numpy as jnp

from ssljax import checks, losses, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_u": checks.NON_NEGATIVE,
  **common.RAMPUP_CHECKS,
  "view": checks.one_of("weak", "strong"),
  **common.ENTROPY_CHECKS,
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
  sample = common.labelled_unlabelled_sampler(b, mu, weak, {"u1": view, "u2": view}, dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_1, logits_2), batch_stats = common.joint_logits(
      model, params, state.batch_stats, normalize, [batch["x_l"], batch["u1"], batch["u2"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    unsup = losses.softmax_mse(logits_1, jax.nn.softmax(logits_2)).mean()
    weight = config.lambda_u * common.rampup(state.step, config.rampup_steps, config.rampup_shape)
    ent, ent_metrics = common.entropy_term(config, logits_1)
    metrics = {
      "loss": sup + weight * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "lambda_u": weight,
      # How often the model's unlabelled predictions are right (hidden labels): not used in training.
      "unlabelled_acc": common.hidden_label_accuracy(jnp.argmax(logits_1, -1), batch["y_u"]),
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
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "unlabelled_acc"),
  )
