"""FlexMatch (Zhang et al., 2021): FixMatch with Curriculum Pseudo Labelling, one threshold per class that follows
how well the model has learnt that class.

Learning status (the method state): `selected`, one entry per image of the unlabelled pool, the class the model last
predicted for it with confidence ≥ τ (the fixed threshold), -1 while it never has. A step, for the weak views'
predictions p_b of the global unlabelled batch:
  1. σ(c) = #{n : selected_n = c}; β(c) = σ(c) / max(max_c σ, #unused) with the threshold warm-up (thresholds rise
     from 0 while most images are unused), σ(c) / max_c σ without it.
  2. class thresholds T(c) = M(β(c))·τ, M(x) = x / (2 − x) (losses.flexmatch_thresholds); example b counts in the
     unlabelled loss when max p_b ≥ T(ŷ_b), ŷ_b = argmax p_b.
  3. selected[i_b] ← ŷ_b for the examples with max p_b ≥ τ, i_b their pool indices. Every device gathers the global
     batch's indices and predictions, so every device keeps the same array (1 device == N devices). An image drawn
     twice in one global batch keeps its last confident draw's prediction.
loss = mean_b CE(x_b, y_b) + λu · mean_b 1[max p_b ≥ T(ŷ_b)] · CE(strong view of u_b, ŷ_b), p from the weak view
without gradient (hard pseudo-labels, as the paper).
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "threshold": checks.PROBABILITY,
  "lambda_u": checks.NON_NEGATIVE,
  "threshold_warmup": checks.BOOL,
  "mapping": checks.one_of(*losses.MAPPINGS),
}


def learning_effect(selected, num_classes: int, warmup: bool, dtype=jnp.float32):
  """β(c) = σ(c) / max(max_c σ, #unused) (warm-up) or σ(c) / max_c σ, σ(c) = #{n : selected_n = c}; 0 if none used."""
  counts = jnp.bincount(selected + 1, length=num_classes + 1)  # [#unused, σ(0), ..., σ(C−1)]
  sigma = counts[1:]
  top = jnp.maximum(jnp.max(sigma), counts[0]) if warmup else jnp.max(sigma)
  return sigma.astype(dtype) / jnp.maximum(top, 1).astype(dtype)


def update_status(selected, idx, pseudo, confident):
  """selected[idx_b] ← pseudo_b where confident_b; an index repeated in the batch takes its last confident entry."""
  order = jnp.where(confident, jnp.arange(idx.shape[0], dtype=jnp.int32), -1)
  last = jnp.full(selected.shape, -1, jnp.int32).at[idx].max(order)
  return jnp.where(last >= 0, pseudo.astype(selected.dtype)[jnp.maximum(last, 0)], selected)


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  num_classes, threshold, lambda_u = setup.ds.num_classes, float(config.threshold), float(config.lambda_u)
  warmup, mapping = bool(config.threshold_warmup), config.mapping

  def init_method_state(variables):
    del variables
    return {"selected": jnp.full((setup.arrays["x_u"].shape[0],), -1, jnp.int32)}

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    probs = jax.nn.softmax(lax.stop_gradient(logits_w))
    conf, pseudo = jnp.max(probs, -1), jnp.argmax(probs, -1)
    selected = state.method_state["selected"]
    beta = learning_effect(selected, num_classes, warmup, conf.dtype)
    class_thresholds = losses.flexmatch_thresholds(beta, threshold, mapping)
    mask = (conf >= class_thresholds[pseudo]).astype(conf.dtype)
    unsup = losses.weighted_pseudo_label_loss(logits_s, pseudo, mask)
    # The status is updated from the whole global batch, identically on every device.
    new_selected = update_status(
      selected,
      parallel.gather_replicated(batch["idx_u"]),
      parallel.gather_replicated(pseudo),
      parallel.gather_replicated(conf) >= threshold,
    )
    metrics = {
      "loss": sup + lambda_u * unsup,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "mask_rate": mask.mean(),
      # Over the global batch (a ratio of sums), so that it does not depend on the device count.
      "pseudo_label_acc": common.hidden_label_accuracy(*map(parallel.gather_replicated, (pseudo, batch["y_u"], mask))),
      "threshold_min": jnp.min(class_thresholds),
      "threshold_mean": jnp.mean(class_thresholds),
      "threshold_max": jnp.max(class_thresholds),
      "unused_rate": jnp.mean(selected < 0),
      "train_acc": jnp.mean(jnp.argmax(logits_l, -1) == batch["y_l"]),
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats, {"selected": new_selected})

  return setup.task(
    config,
    sample=setup.sampler({"u_w": setup.weak, "u_s": setup.strong}, indices=True),
    loss=loss,
    init_method_state=init_method_state,
    images_per_step=setup.b * (1 + 2 * setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "mask_rate", "pseudo_label_acc", "threshold_min", "threshold_max"),
  )
