"""Mean Teacher (Tarvainen & Valpola, 2017): the student's predictions should match those of a teacher whose weights
are an exponential moving average of the student's, on a different view of each unlabelled image.

loss = CE(labelled) + λu · ramp(step) · mean_b (1/C) ‖p_student(û¹_b) − sg(p_teacher(û²_b))‖², p = softmax.
The teacher θ' lives in the method state and is updated after every optimiser step,
θ' ← α θ' + (1 − α) θ with α = min(1 − 1/(t + 1), teacher_decay) (the paper's code: a short average early on).
It is the method's own and apart from the evaluation EMA (config.ema_decay). The teacher runs in train mode, as in
the paper's code (BatchNorm over its own global batch); its forward leaves the running statistics alone.
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, train
from ssljax.methods import common
from ssljax.state import ema

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_u": checks.NON_NEGATIVE,
  **common.RAMPUP_CHECKS,
  "teacher_decay": checks.number(0, 1, hi_open=True),
  "view": checks.one_of("weak", "strong"),
  **common.ENTROPY_CHECKS,
}


def teacher_decay(step, decay: float):
  """α = min(1 − 1/(t + 1), decay) after t optimiser steps: the teacher starts as a plain average of the students."""
  t = jnp.asarray(step, jnp.result_type(float))
  return jnp.minimum(1.0 - 1.0 / (t + 1.0), decay)


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  decay = float(config.teacher_decay)
  sample = setup.sampler({"u_s": setup.view, "u_t": setup.view})

  def init_method_state(variables):
    return {"teacher": jax.tree.map(jnp.copy, variables["params"])}

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_u), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_s"]]
    )
    teacher = state.method_state["teacher"]
    logits_t, _ = common.forward(setup.model, teacher, state.batch_stats, setup.normalize(batch["u_t"]))
    logits_t = lax.stop_gradient(logits_t)
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    unsup = losses.softmax_mse(logits_u, jax.nn.softmax(logits_t)).mean()
    weight = config.lambda_u * common.rampup(state.step, config.rampup_steps, config.rampup_shape)
    ent, ent_metrics = common.entropy_term(config, logits_u)
    metrics = {
      "loss": sup + weight * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "lambda_u": weight,
      # Accuracy of the teacher's unlabelled predictions against the hidden labels: is the target any good?
      "teacher_acc": common.hidden_label_accuracy(jnp.argmax(logits_t, -1), batch["y_u"]),
      **ent_metrics,
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats)

  def after_update(state):
    alpha = teacher_decay(state.step, decay)
    return state.replace(method_state={"teacher": ema(state.method_state["teacher"], state.params, alpha)})

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    init_method_state=init_method_state,
    after_update=after_update,
    # Student: labelled + μB unlabelled (forward + backward); teacher: μB (forward only).
    images_per_step=setup.b * (1 + 2 * setup.mu),
    backward_images=setup.b * (1 + setup.mu),
    forward_only_images=setup.b * setup.mu,
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "teacher_acc"),
  )
