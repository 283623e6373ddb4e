"""Virtual Adversarial Training (Miyato et al., 2018): the prediction on an unlabelled image should not change under
the small input perturbation that changes it most.

With p = sg(softmax(logits(x))) on the normalised unlabelled view x:
  1. d ~ N(0, I) per example; `power_iterations` times: g = ∇_d Σ_b KL(p_b ‖ p(x_b + ξ d_b/‖d_b‖)), d ← g
     (the paper's power iteration on the Hessian of the KL, eq. 10; one iteration by default);
  2. r_adv = ε d/‖d‖ (no gradient), LDS = mean_b KL(p_b ‖ p(x_b + r_adv_b));
  3. loss = CE(labelled) + λu · ramp(step) · LDS (+ config.entropy_weight · H(p): VAT + EntMin, eq. 16).
The clean forward runs on labelled + unlabelled rows and updates the BatchNorm statistics; the perturbed forwards
run on the same rows (only the unlabelled ones perturbed, so that the clean and perturbed batch statistics differ
only by the perturbation) with the statistics frozen. Σ_b over the global batch: each device differentiates its own
rows' sum, and the shard_map transpose adds the other devices' terms (docs/design.md), so ∇_d is the same on any
number of devices.
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import augment, checks, losses, parallel, train
from ssljax.methods import common

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_u": checks.NON_NEGATIVE,
  **common.RAMPUP_CHECKS,
  "vat_eps": checks.POSITIVE,
  "vat_xi": checks.POSITIVE,
  "power_iterations": checks.POSITIVE_INT,
  "view": checks.one_of("weak", "strong"),
  **common.ENTROPY_CHECKS,
}


def unit(d):
  """d / ‖d‖₂ per example (over every axis but the first)."""
  norm = jnp.sqrt(jnp.sum(jnp.square(d), axis=tuple(range(1, d.ndim)), keepdims=True))
  return d / (norm + jnp.finfo(d.dtype).tiny)


def adversarial_direction(logits_fn, p, d, xi: float, iterations: int):
  """Power iteration for the direction that most changes the prediction: d ← ∇_r Σ_b KL(p_b ‖ logits_fn(r)_b) at
  r = ξ·unit(d), `iterations` times; returns unit(d) (no gradient). logits_fn(r): logits of the inputs + r."""
  kl_sum = lambda r: jnp.sum(losses.kl_divergence(p, logits_fn(r)))
  for _ in range(iterations):
    d = jax.grad(kl_sum)(xi * unit(d))
  return unit(lax.stop_gradient(d))


def build(config) -> train.Task:
  setup = common.semi_supervised(config)
  eps, xi, iterations = float(config.vat_eps), float(config.vat_xi), int(config.power_iterations)
  sample = setup.sampler({"u": setup.view})

  def loss(params, state, batch, key):
    n_l = batch["x_l"].shape[0]
    x = setup.normalize(jnp.concatenate([batch["x_l"], batch["u"]]))
    logits, batch_stats = common.forward(setup.model, params, state.batch_stats, x)
    logits_l, logits_u = jnp.split(logits, [n_l])
    p = jax.nn.softmax(lax.stop_gradient(logits_u))

    def perturbed(variables_params, r):  # train mode; the statistics it computes are dropped (frozen)
      out, _ = common.forward(setup.model, variables_params, state.batch_stats, x.at[n_l:].add(r))
      return out[n_l:]

    # Per-example directions from the step's loss key, drawn for the global batch (device-count independent).
    keys = parallel.local_slice(jax.random.split(key, setup.mu * setup.b))
    d = jax.vmap(augment.gaussian)(keys, batch["u"])
    frozen = lax.stop_gradient(params)
    r_adv = eps * adversarial_direction(lambda r: perturbed(frozen, r), p, d, xi, iterations)
    logits_adv = perturbed(params, r_adv)
    lds = jnp.mean(losses.kl_divergence(p, logits_adv))

    sup = losses.cross_entropy(logits_l, batch["y_l"]).mean()
    weight = config.lambda_u * common.rampup(state.step, config.rampup_steps, config.rampup_shape)
    ent, ent_metrics = common.entropy_term(config, logits_u)
    metrics = {
      "loss": sup + weight * lds + ent,
      "sup_loss": sup,
      "unsup_loss": lds,
      "lambda_u": weight,
      # Fraction of unlabelled predictions whose class r_adv flips: ε too large when this is high.
      "adv_flip_rate": jnp.mean(jnp.argmax(logits_adv, -1) != jnp.argmax(logits_u, -1)),
      "unlabelled_acc": common.hidden_label_accuracy(jnp.argmax(logits_u, -1), batch["y_u"]),
      **ent_metrics,
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats)

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    # Labelled + unlabelled rows through the clean forward, then 1 + power_iterations perturbed forwards.
    images_per_step=(setup.b + setup.mu * setup.b) * (2 + iterations),
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "adv_flip_rate", "unlabelled_acc"),
  )
