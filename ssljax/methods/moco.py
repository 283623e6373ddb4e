"""MoCo v2+ (Chen et al., 2020; solo-learn's symmetric variant): a query encoder, a momentum key encoder, and a queue
of past keys as negatives for InfoNCE.

One step: `batch_size` distinct train images, two views each; queries q from the online encoder + projector (one
forward of both views, global BatchNorm), keys k from the momentum copy (params and BatchNorm statistics, in the
method state) under stop-gradient. loss = ½ [ℓ(q1, k2, queue₂) + ℓ(q2, k1, queue₁)] with ℓ InfoNCE at temperature
τ (losses.infonce_queue). The queue (method state) holds `queue_size` ℓ2-normalised keys per view: after the loss,
the keys of ALL devices are gathered in global order (device 0's rows, then device 1's, ...) and written at the
queue pointer, which then advances by the global batch (queue_size must be a multiple of it); slots never filled
are left out of the softmax. After the optimiser step the key encoder moves: ξ ← τ_k·ξ + (1 − τ_k)·θ,
τ_k from base_tau to final_tau on BYOL's cosine schedule. Projector: Dense → ReLU → Dense (MoCo v2's, no BatchNorm).
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import byol, common, representation

CHECKS = {
  **representation.CHECKS,
  "temperature": checks.POSITIVE,
  "queue_size": checks.POSITIVE_INT,
  "base_tau": checks.UNIT,
  "final_tau": checks.UNIT,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "augment.view": checks.one_of(*representation.VIEWS),
}


def check_config(config):
  if config.queue_size % config.batch_size:
    raise ConfigError(
      f"config.queue_size={config.queue_size} must be a multiple of the global batch_size={config.batch_size} "
      "(each step enqueues one key per image)"
    )


def enqueue(queue, ptr, filled, keys):
  """Writes keys [V, N, D] (global order) at rows ptr..ptr+N−1 of queue [V, K, D]; returns (queue, ptr, filled)."""
  n, k = keys.shape[1], queue.shape[1]
  zero = jnp.zeros_like(ptr)
  queue = lax.dynamic_update_slice(queue, keys.astype(queue.dtype), (zero, ptr, zero))
  return queue, (ptr + n) % k, jnp.minimum(filled + n, k)


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=representation.mlp(config, config.proj_hidden_dim, config.proj_dim, last_bn=False, hidden_bn=False),
  )
  normalize = common.normalizer(ds)
  total, base_tau, final_tau = config.total_steps, float(config.base_tau), float(config.final_tau)
  temperature, size = float(config.temperature), int(config.queue_size)

  def init_method_state(variables):
    dtype = jax.tree.leaves(variables["params"])[0].dtype
    zero = jnp.zeros((), jnp.int32)
    return {
      **byol.target_of(variables),
      "queue": jnp.zeros((2, size, config.proj_dim), dtype),
      "ptr": zero,
      "filled": zero,
    }

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, q, _), batch_stats = common.forward(model, params, state.batch_stats, x)
    ms = state.method_state
    k, _ = common.forward(model, ms["params"], ms["batch_stats"], x, method=representation.EmbeddingNet.embed)
    k = losses.l2_normalize(lax.stop_gradient(k))
    q1, q2 = jnp.split(q, 2)
    k1, k2 = jnp.split(k, 2)
    valid = jnp.arange(size) < ms["filled"]
    l1, hit1 = losses.infonce_queue(q1, k2, ms["queue"][1], temperature, valid)
    l2, hit2 = losses.infonce_queue(q2, k1, ms["queue"][0], temperature, valid)
    value = 0.5 * (jnp.mean(l1) + jnp.mean(l2))
    keys = jnp.stack([parallel.gather_replicated(k1), parallel.gather_replicated(k2)])
    queue, ptr, filled = enqueue(ms["queue"], ms["ptr"], ms["filled"], keys)
    metrics = {
      "loss": value,
      "contrast_acc": 0.5 * (jnp.mean(hit1) + jnp.mean(hit2)),
      "tau": representation.cosine_momentum(state.step, total, base_tau, final_tau),
      **representation.collapse_metrics(q1),
    }
    return value, train.LossOutput(metrics, batch_stats, {**ms, "queue": queue, "ptr": ptr, "filled": filled})

  def after_update(state):
    ms = state.method_state
    target = {"params": ms["params"], "batch_stats": ms["batch_stats"]}
    moved = byol.update_target(state.replace(method_state=target), total, base_tau, final_tau).method_state
    return state.replace(method_state={**ms, **moved})

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint="for MoCo usually a temperature too high or a key encoder that follows too fast (config.base_tau)",
    loss=loss,
    log_keys=("loss", "contrast_acc", "tau"),
    forward_only_images=2 * config.batch_size,  # the key encoder on both views
    init_method_state=init_method_state,
    after_update=after_update,
  )
