"""BYOL (Grill et al., 2020): an online network (encoder → projector → predictor) predicts the projection of the
other view by a target network, the momentum copy of the online encoder and projector.

One step: `batch_size` distinct train images, two views each (config.augment: BYOL's asymmetric blur/solarisation
with view='jitter'); the online network runs on both views in one forward (global BatchNorm), the target network
(params AND BatchNorm statistics in the method state) in train mode on the same views under stop-gradient; the loss
is symmetric, ℓ(p1, z̄2) + ℓ(p2, z̄1) with ℓ = 2 − 2·cos (losses.byol_loss). After the optimiser step
(Task.after_update) the target moves: ξ ← τ_k·ξ + (1 − τ_k)·θ for params and BatchNorm statistics, with
τ_k = 1 − (1 − base_tau)(cos(πk/K) + 1)/2 at the step k just taken (from base_tau to final_tau = 1).
"""

import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, train
from ssljax.methods import common, representation

CHECKS = {
  **representation.CHECKS,
  "base_tau": checks.UNIT,
  "final_tau": checks.UNIT,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "pred_hidden_dim": checks.POSITIVE_INT,
  "augment.view": checks.one_of(*representation.VIEWS),
}


def target_of(variables):
  """The momentum target at step 0: a copy of the online encoder and projector, params and BatchNorm statistics."""
  return {k: representation.online_part(variables[k]) for k in ("params", "batch_stats")}


def update_target(state, total_steps, base_tau, final_tau):
  """ξ ← τ·ξ + (1−τ)·θ (params and BatchNorm statistics), τ scheduled at the step just taken."""
  tau = representation.cosine_momentum(state.step - 1, total_steps, base_tau, final_tau)
  online = {"params": state.params, "batch_stats": state.batch_stats}
  target = {k: representation.momentum_update(v, target_of(online)[k], tau) for k, v in state.method_state.items()}
  return state.replace(method_state=target)


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  mlp = representation.mlp
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=mlp(config, config.proj_hidden_dim, config.proj_dim, last_bn=False),
    predictor=mlp(config, config.pred_hidden_dim, config.proj_dim, last_bn=False),
  )
  normalize = common.normalizer(ds)
  total, base_tau, final_tau = config.total_steps, float(config.base_tau), float(config.final_tau)

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, p), batch_stats = common.forward(model, params, state.batch_stats, x)
    target = state.method_state
    zt, _ = common.forward(model, target["params"], target["batch_stats"], x, method=representation.EmbeddingNet.embed)
    zt = lax.stop_gradient(zt)
    p1, p2 = jnp.split(p, 2)
    t1, t2 = jnp.split(zt, 2)
    value = jnp.mean(losses.byol_loss(p1, t2)) + jnp.mean(losses.byol_loss(p2, t1))
    tau = representation.cosine_momentum(state.step, total, base_tau, final_tau)
    metrics = {"loss": value, "tau": tau, **representation.collapse_metrics(jnp.split(z, 2)[0])}
    return value, train.LossOutput(metrics, batch_stats)

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint="for BYOL usually a target that follows too fast (config.base_tau too low) or too high a config.lr",
    loss=loss,
    log_keys=("loss", "tau"),
    forward_only_images=2 * config.batch_size,  # the target network on both views
    init_method_state=target_of,
    after_update=lambda state: update_target(state, total, base_tau, final_tau),
  )
