"""SoftMatch (Chen et al., 2023): every pseudo-label counts, weighted by a truncated Gaussian of its confidence.

The method state holds EMAs (decay λ = config.ema_p) over the weak views' predictions p_b of the GLOBAL unlabelled
batch, updated before this step's weights:
  p̂       the model's class marginal for uniform alignment, p̂ ← λp̂ + (1 − λ)·mean_b p_b (at step 0 the first batch's
          mean, as USB's code); UA(p) = Normalize(p · (1/C) / p̂) (losses.distribution_alignment).
  μ, σ²   mean and unbiased variance of max UA(p_b): μ ← λμ + (1 − λ)·mean, σ² ← λσ² + (1 − λ)·var; from 1/C and 1.
Weight λ_b = exp(−(max UA(p_b) − μ)² / (2σ²/n²)) below μ, 1 above (n = config.n_sigma, USB's n_sigma); the
pseudo-label is argmax p_b, not aligned (uniform alignment only sets the weights, as USB's code).
loss = mean CE(labelled) + λu · mean_b λ_b · CE(strong_b, argmax p_b).
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_u": checks.NON_NEGATIVE,
  "ema_p": checks.number(0, 1, hi_open=True),
  "n_sigma": checks.POSITIVE,
  "uniform_alignment": checks.BOOL,
}


def check_config(config):
  if config.mu * config.batch_size < 2:
    raise ConfigError(
      f"softmatch needs mu * batch_size >= 2 unlabelled examples per step for their confidence variance, got "
      f"{config.mu} * {config.batch_size}"
    )


def init_statistics(num_classes: int, dtype=jnp.float32):
  """p̂ uniform (replaced by the first batch's mean), μ = 1/C, σ² = 1 (the paper's and USB's start)."""
  return {
    "p_model": jnp.full((num_classes,), 1.0 / num_classes, dtype),
    "mean": jnp.asarray(1.0 / num_classes, dtype),
    "var": jnp.asarray(1.0, dtype),
  }


def update_statistics(stats, probs, decay, first, align: bool):
  """New p̂ (the batch mean where `first`), μ and σ² from one batch of predictions [N, C]; returns (stats, UA(probs))."""
  ema = lambda old, new: decay * old + (1.0 - decay) * new
  batch_mean = jnp.mean(probs, 0)
  p_model = jnp.where(first, batch_mean, ema(stats["p_model"], batch_mean))
  aligned = losses.distribution_alignment(probs, p_model) if align else probs
  conf = jnp.max(aligned, -1)
  mean, var = ema(stats["mean"], jnp.mean(conf)), ema(stats["var"], jnp.var(conf, ddof=1))
  return {"p_model": p_model, "mean": mean, "var": var}, aligned


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  num_classes, decay, lambda_u = setup.ds.num_classes, float(config.ema_p), float(config.lambda_u)
  n_sigma, align = float(config.n_sigma), bool(config.uniform_alignment)

  def init_method_state(variables):
    return init_statistics(num_classes, jax.tree.leaves(variables["params"])[0].dtype)

  def loss(params, state, batch, key):
    del key
    (logits_l, logits_w, logits_s), batch_stats = common.joint_logits(
      setup.model, params, state.batch_stats, setup.normalize, [batch["x_l"], batch["u_w"], batch["u_s"]]
    )
    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    probs = jax.nn.softmax(lax.stop_gradient(logits_w))
    # Statistics of the global batch, identical on every device; this device's rows of UA(p) set its weights.
    stats, aligned = update_statistics(
      state.method_state, parallel.gather_replicated(probs), decay, state.step == 0, align
    )
    conf = jnp.max(parallel.local_slice(aligned), -1)
    weight = losses.softmatch_weights(conf, stats["mean"], stats["var"], n_sigma)
    pseudo = jnp.argmax(probs, -1)
    unsup = losses.weighted_pseudo_label_loss(logits_s, pseudo, weight)
    metrics = {
      "loss": sup + lambda_u * unsup,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "mean_weight": weight.mean(),
      # Over the global batch (a ratio of sums), so that it does not depend on the device count.
      "pseudo_label_acc": common.hidden_label_accuracy(
        *map(parallel.gather_replicated, (pseudo, batch["y_u"], weight))
      ),
      "conf_mean": stats["mean"],
      "conf_std": jnp.sqrt(stats["var"]),
      "train_acc": jnp.mean(jnp.argmax(logits_l, -1) == batch["y_l"]),
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats, stats)

  return setup.task(
    config,
    sample=setup.sampler({"u_w": setup.weak, "u_s": setup.strong}),
    loss=loss,
    init_method_state=init_method_state,
    images_per_step=setup.b * (1 + 2 * setup.mu),
    log_keys=("loss", "sup_loss", "unsup_loss", "mean_weight", "pseudo_label_acc", "conf_mean", "conf_std"),
  )
