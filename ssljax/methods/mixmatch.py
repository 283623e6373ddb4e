"""MixMatch (Berthelot et al., 2019): guessed, sharpened labels for unlabelled data, MixUp of everything.

One step, for a global batch of B labelled and B unlabelled examples:
  1. x̂ = one view of each labelled example; û_k = K views of each unlabelled example.
  2. Label guess q = Sharpen((1/K) Σ_k p_model(û_k), T), no gradient (one forward over the K·B views). With
     config.distribution_alignment the average is first aligned to a uniform class marginal (ReMixMatch §3.1:
     q ← Normalize(q · p(y) / p̃(y))), p̃ = the mean guess of this step's global batch ('batch') or ReMixMatch's
     running mean of the last `alignment_steps` steps' global-batch means, kept in the method state ('running').
  3. MixUp over the global batch of concat(X̂, Û) (Û: all K views, each with target q), λ' = max(λ, 1−λ),
     λ ~ Beta(α, α) (ssljax.mixup.global_mixup).
  4. loss = L_X + λu·ramp(step)·L_U (losses.mixmatch_loss): cross-entropy on the mixed labelled rows, squared
     error between probabilities on the mixed unlabelled rows; ramp = min(step / rampup_steps, 1).

BatchNorm: the paper interleaves labelled and unlabelled rows so that each of its per-batch forwards sees the same
mixture; here BatchNorm statistics are global and the mixed labelled and unlabelled rows go through ONE forward,
which gives every row the same statistics without interleaving. The label-guess forward does not update the
running statistics: they come from the mixed forward, the one that is differentiated.
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, mixup, parallel, train
from ssljax.methods import common

ALIGNMENTS = ("off", "batch", "running")

CHECKS = {
  "num_augment": checks.POSITIVE_INT,
  "temperature": checks.POSITIVE,
  "mixup_alpha": checks.POSITIVE,
  "lambda_u": checks.NON_NEGATIVE,
  "rampup_steps": checks.NON_NEGATIVE_INT,
  "view": checks.one_of("weak", "strong"),
  "distribution_alignment": checks.one_of(*ALIGNMENTS),
  "alignment_steps": checks.POSITIVE_INT,
  **common.ENTROPY_CHECKS,
}


def rampup(step, rampup_steps: int):
  """Linear ramp-up weight min(step / rampup_steps, 1) of the unlabelled loss (1 throughout when rampup_steps=0)."""
  if rampup_steps <= 0:
    return jnp.ones((), jnp.result_type(float))
  return jnp.clip(jnp.asarray(step, jnp.result_type(float)) / rampup_steps, 0.0, 1.0)


def running_marginal(state, batch_mean):
  """Pushes this step's global mean guess into the window of the last W steps; returns (p̃ over it, new state)."""
  window, count = state["window"], state["count"]
  window = window.at[count % window.shape[0]].set(batch_mean)
  count = count + 1
  filled = (jnp.arange(window.shape[0]) < count).astype(window.dtype)[:, None]
  marginal = jnp.sum(window * filled, 0) / jnp.sum(filled)
  return marginal, {"window": window, "count": count}


def build(config) -> train.Task:
  setup = common.semi_supervised(config, pseudo_labels=True)  # setup.view: config.view (the paper: weak)
  num_views, num_classes = config.num_augment, setup.ds.num_classes
  temperature, alpha = float(config.temperature), float(config.mixup_alpha)
  lambda_u, rampup_steps = float(config.lambda_u), int(config.rampup_steps)
  align = config.distribution_alignment

  def init_method_state(variables):
    if align != "running":
      return {}
    float_dtype = jax.tree.leaves(variables["params"])[0].dtype
    return {"window": jnp.zeros((config.alignment_steps, num_classes), float_dtype), "count": jnp.zeros((), jnp.int32)}

  def sample(data, key):
    k_l, k_u = jax.random.split(key)
    il, keys_l = common.draw(k_l, setup.b, data["x_l"].shape[0])
    iu, keys_u = common.draw(k_u, setup.b, data["x_u"].shape[0])
    u = common.to_float(data["x_u"][iu], setup.dtype)
    view_keys = jax.vmap(lambda k: jax.random.split(k, num_views), out_axes=1)(keys_u)  # [K, b_local]
    return {
      "x_l": jax.vmap(setup.view)(keys_l, common.to_float(data["x_l"][il], setup.dtype)),
      "y_l": data["y_l"][il],
      "u": jax.vmap(lambda ks: jax.vmap(setup.view)(ks, u))(view_keys),  # [K, b_local, H, W, C]
      "y_u": data["y_u"][iu],
    }

  def loss(params, state, batch, key):
    x_l, u = batch["x_l"], batch["u"]
    bl = x_l.shape[0]
    u_flat = u.reshape((num_views * bl,) + x_l.shape[1:])

    # Label guess: average of the K views' predictions, sharpened; no gradient, running statistics untouched.
    logits_g, _ = common.forward(setup.model, params, state.batch_stats, setup.normalize(u_flat))
    probs = jax.nn.softmax(lax.stop_gradient(logits_g)).reshape(num_views, bl, num_classes).mean(0)
    method_state = None
    if align != "off":  # marginals over the global batch, so every device aligns alike
      marginal = parallel.global_mean(probs)
      if align == "running":
        marginal, method_state = running_marginal(state.method_state, marginal)
      probs = losses.distribution_alignment(probs, marginal)
    q = losses.sharpen(probs, temperature)  # [b_local, C]

    p_l = jax.nn.one_hot(batch["y_l"], num_classes, dtype=q.dtype)
    segments = [(x_l, p_l)] + [(u[k], q) for k in range(num_views)]
    mixed_x, mixed_y, _ = mixup.global_mixup(key, segments, alpha, larger=True)

    # One forward over the mixed labelled + unlabelled rows (global BatchNorm statistics; see the docstring).
    logits, batch_stats = common.forward(setup.model, params, state.batch_stats, setup.normalize(mixed_x))
    sup, unsup = losses.mixmatch_loss(logits[:bl], mixed_y[:bl], logits[bl:], mixed_y[bl:])
    weight = lambda_u * rampup(state.step, rampup_steps)
    ent, ent_metrics = common.entropy_term(config, logits_g)  # on the unmixed unlabelled views
    metrics = {
      "loss": sup + weight * unsup + ent,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "lambda_u": weight,
      # Accuracy of the guessed labels against the hidden labels (where known): the confirmation-bias alarm.
      "guess_acc": common.hidden_label_accuracy(jnp.argmax(q, -1), batch["y_u"]),
      "guess_max_prob": jnp.mean(jnp.max(q, -1)),
      **ent_metrics,
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats, method_state)

  return setup.task(
    config,
    sample=sample,
    loss=loss,
    init_method_state=init_method_state,
    # Images forwarded per step: K·B guessed views (forward only), (1+K)·B mixed rows (forward + backward).
    images_per_step=setup.b * (1 + 2 * num_views),
    backward_images=setup.b * (1 + num_views),
    forward_only_images=setup.b * num_views,
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "guess_acc"),
  )
