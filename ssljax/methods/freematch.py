"""FreeMatch (Wang et al., 2023): self-adaptive global and class-wise thresholds from the model's own confidence, and a
self-adaptive fairness term.

The method state holds three EMAs (decay λ = config.ema_p) of the weak views' predictions q_b of the GLOBAL unlabelled
batch, each starting at 1/C as in the paper, and updated before this step's mask (the paper's τ_t uses batch t):
  τ      global threshold     τ ← λτ + (1 − λ)·mean_b max q_b
  p̃(c)   class marginal       p̃ ← λp̃ + (1 − λ)·mean_b q_b
  h̃(c)   argmax histogram     h̃ ← λh̃ + (1 − λ)·hist_b(argmax q_b) / #b
Class thresholds τ(c) = MaxNorm(p̃)(c)·τ = τ·p̃(c) / max p̃; example b counts when max q_b ≥ τ(ŷ_b), ŷ_b = argmax q_b.
loss = mean CE(labelled) + λu·mean_b mask_b·CE(strong_b, ŷ_b) + λf·L_f, L_f = losses.freematch_fairness_loss over the
masked strong views of the global batch.

USB's code starts τ, p̃ and h̃ at 1 instead of 1/C: the class-wise modulation and L_f's target do not depend on that
scale, but its global threshold starts at 1 (no example passes until the EMA has come down).
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_u": checks.NON_NEGATIVE,
  "lambda_f": checks.NON_NEGATIVE,
  "ema_p": checks.number(0, 1, hi_open=True),
}


def init_statistics(num_classes: int, dtype=jnp.float32):
  """τ, p̃ and h̃ at t = 0: 1/C each (the paper)."""
  uniform = jnp.full((num_classes,), 1.0 / num_classes, dtype)
  return {"tau": jnp.asarray(1.0 / num_classes, dtype), "p_model": uniform, "label_hist": uniform}


def update_statistics(stats, probs, decay):
  """The EMAs of τ (mean max q), p̃ (mean q) and h̃ (argmax histogram) with one batch of predictions q [N, C]."""
  ema = lambda old, new: decay * old + (1.0 - decay) * new
  hist = jnp.mean(jax.nn.one_hot(jnp.argmax(probs, -1), probs.shape[-1], dtype=probs.dtype), 0)
  return {
    "tau": ema(stats["tau"], jnp.mean(jnp.max(probs, -1))),
    "p_model": ema(stats["p_model"], jnp.mean(probs, 0)),
    "label_hist": ema(stats["label_hist"], hist),
  }


def class_thresholds(stats):
  """τ(c) = τ · p̃(c) / max_c p̃(c)."""
  return stats["tau"] * stats["p_model"] / jnp.max(stats["p_model"])


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  num_classes, decay = setup.ds.num_classes, float(config.ema_p)
  lambda_u, lambda_f = float(config.lambda_u), float(config.lambda_f)

  def init_method_state(variables):
    return init_statistics(num_classes, jax.tree.leaves(variables["params"])[0].dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    probs = jax.nn.softmax(lax.stop_gradient(logits_w))
    stats = update_statistics(state.method_state, parallel.gather_replicated(probs), decay)  # global-batch statistics
    conf, pseudo = jnp.max(probs, -1), jnp.argmax(probs, -1)
    thresholds = class_thresholds(stats)
    mask = (conf >= thresholds[pseudo]).astype(conf.dtype)
    unsup = losses.weighted_pseudo_label_loss(logits_s, pseudo, mask)
    # Gathered rows: each device's L_f / n returns its cotangents to the rows' owners, summing to the gradient of L_f.
    fair = losses.freematch_fairness_loss(
      parallel.gather(jax.nn.softmax(logits_s)), parallel.gather(mask), stats["p_model"], stats["label_hist"]
    )
    metrics = {
      "loss": sup + lambda_u * unsup + lambda_f * fair,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "fair_loss": fair,
      "mask_rate": mask.mean(),
      # Over the global batch (a ratio of sums), so that it does not depend on the device count.
      "pseudo_label_acc": common.hidden_label_accuracy(*map(parallel.gather_replicated, (pseudo, batch["y_u"], mask))),
      "threshold": stats["tau"],
      "threshold_min": jnp.min(thresholds),
      "threshold_mean": jnp.mean(thresholds),
      "threshold_max": jnp.max(thresholds),
      "train_acc": jnp.mean(jnp.argmax(logits_l, -1) == batch["y_l"]),
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats, stats)

  return setup.task(
    config,
    sample=setup.sampler({"u_w": setup.weak, "u_s": setup.strong}),
    loss=loss,
    init_method_state=init_method_state,
    images_per_step=setup.b * (1 + 2 * setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "mask_rate", "pseudo_label_acc", "threshold", "threshold_min"),
  )
