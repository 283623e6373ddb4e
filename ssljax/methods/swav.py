"""SwAV (Caron et al., 2020): online clustering; each view predicts the other view's code, the soft assignment of
its embedding to learnt prototypes computed by Sinkhorn-Knopp over the GLOBAL batch.

One step: `batch_size` distinct train images, two views each, one forward of both (global BatchNorm); encoder →
projector (Dense → BN → ReLU → Dense) → ℓ2-normalised z → cosine scores s against the weight-normalised prototypes
(heads.Prototypes). Codes q = Sinkhorn(s / ε) per view, `sinkhorn_iterations` iterations, with the batch sums
psum'd over the mesh axis (losses.sinkhorn), no gradient; loss = swapped prediction
−½ [q2·log softmax(s1/τ) + q1·log softmax(s2/τ)] (losses.swav_loss). For the first freeze_prototypes_steps the
prototypes get no gradient (as the paper's first epoch). Optional queue (queue_size > 0, from queue_start_step on,
once full): the last queue_size normalised z of each view (global order, newest first, method state) join the
Sinkhorn problem, split over the devices like the batch, so the assignment is the one over [queue; global batch].
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation
from ssljax.models import heads

CHECKS = {
  **representation.CHECKS,
  "temperature": checks.POSITIVE,
  "sinkhorn_epsilon": checks.POSITIVE,
  "sinkhorn_iterations": checks.POSITIVE_INT,
  "num_prototypes": checks.POSITIVE_INT,
  "freeze_prototypes_steps": checks.NON_NEGATIVE_INT,
  "queue_size": checks.NON_NEGATIVE_INT,
  "queue_start_step": checks.NON_NEGATIVE_INT,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "augment.view": checks.one_of(*representation.VIEWS),
}


def check_config(config):
  if config.queue_size % config.batch_size:
    raise ConfigError(
      f"config.queue_size={config.queue_size} must be 0 or a multiple of the global batch_size={config.batch_size}"
    )


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  dtype, param_dtype = common.dtypes(config)
  prototypes = heads.Prototypes(config.num_prototypes, dtype=dtype, param_dtype=param_dtype)
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=representation.mlp(config, config.proj_hidden_dim, config.proj_dim, last_bn=False),
    predictor=prototypes,
  )
  normalize = common.normalizer(ds)
  temperature, eps, iters = float(config.temperature), float(config.sinkhorn_epsilon), int(config.sinkhorn_iterations)
  freeze, size, queue_start = int(config.freeze_prototypes_steps), int(config.queue_size), int(config.queue_start_step)

  def init_method_state(variables):
    if not size:
      return {}
    dtype = jax.tree.leaves(variables["params"])[0].dtype
    return {"queue": jnp.zeros((2, size, config.proj_dim), dtype), "filled": jnp.zeros((), jnp.int32)}

  def codes(scores, queue_scores, use_queue):
    """Sinkhorn codes of this device's rows, over the global batch (and the queue when it is in use)."""
    if queue_scores is None:
      return losses.sinkhorn(scores, eps, iters, axis_name=parallel.AXIS)
    with_queue = losses.sinkhorn(
      jnp.concatenate([parallel.local_slice(queue_scores), scores]), eps, iters, axis_name=parallel.AXIS
    )[-scores.shape[0] :]
    return jnp.where(use_queue, with_queue, losses.sinkhorn(scores, eps, iters, axis_name=parallel.AXIS))

  def loss(params, state, batch, key):
    del key
    frozen = state.step < freeze
    params = {
      **params,
      "predictor": jax.tree.map(lambda p: jnp.where(frozen, lax.stop_gradient(p), p), params["predictor"]),
    }
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, s), batch_stats = common.forward(model, params, state.batch_stats, x)
    s = s.astype(jnp.promote_types(s.dtype, jnp.float32))
    s1, s2 = jnp.split(s, 2)
    zn = losses.l2_normalize(lax.stop_gradient(z))
    z1, z2 = jnp.split(zn, 2)
    method_state, q_scores, use_queue = None, (None, None), False
    if size:
      ms = state.method_state
      score = lambda q: prototypes.apply({"params": lax.stop_gradient(params["predictor"])}, q).astype(s.dtype)
      q_scores = (score(ms["queue"][0]), score(ms["queue"][1]))
      use_queue = (state.step >= queue_start) & (ms["filled"] >= size)
      new = jnp.stack([parallel.gather_replicated(z1), parallel.gather_replicated(z2)]).astype(ms["queue"].dtype)
      queue = jnp.concatenate([new, ms["queue"]], axis=1)[:, :size]  # newest first
      method_state = {"queue": queue, "filled": jnp.minimum(ms["filled"] + new.shape[1], size)}
    q1, q2 = codes(s1, q_scores[0], use_queue), codes(s2, q_scores[1], use_queue)
    value = jnp.mean(losses.swav_loss(s1, s2, q1, q2, temperature))
    metrics = {
      "loss": value,
      "prototypes_frozen": frozen.astype(s.dtype),
      "code_max": jnp.mean(jnp.max(q1, -1)),
      **representation.collapse_metrics(jnp.split(z, 2)[0]),
    }
    return value, train.LossOutput(metrics, batch_stats, method_state)

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint=(
      "for SwAV usually a Sinkhorn epsilon too large or prototypes trained from the start "
      "(config.sinkhorn_epsilon, config.freeze_prototypes_steps)"
    ),
    loss=loss,
    log_keys=("loss", "code_max"),
    init_method_state=init_method_state,
  )
