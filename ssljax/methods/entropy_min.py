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
  setup = common.semi_supervised(config)
  sample = setup.sampler({"u": setup.view})

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_u), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u"]]
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

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    images_per_step=setup.b * (1 + setup.mu),
    log_keys=("loss", "sup_loss", "entropy", "entropy_weight", "unlabelled_acc"),
  )
