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
  setup = common.semi_supervised(config)
  sample = setup.sampler({"u1": setup.view, "u2": setup.view})

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_1, logits_2), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u1"], batch["u2"]]
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

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    images_per_step=setup.b * (1 + 2 * setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "unlabelled_acc"),
  )
