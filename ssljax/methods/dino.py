"""DINO (Caron et al., 2021): a student matches the centred, sharpened output of a momentum teacher across crops.

One step: `batch_size` distinct train images, 2 global views and `num_local_crops` small crops (multi-crop:
augment.local_crop to local_crop_size, 0 allowed) each. The student (encoder → 3-layer GELU MLP → ℓ2-normalised
bottleneck → weight-normalised prototypes, heads.Prototypes) runs on the global views in one forward and on the local
crops in another (global BatchNorm each); the teacher, the momentum copy of the whole student (params and BatchNorm
statistics, in the method state), runs on the global views only, under stop-gradient. loss = mean over pairs
(teacher view t, student view s ≠ t) of H(softmax((g_t − c)/τt), softmax(g_s/τs)) (losses.dino_loss). τt warms up
linearly from warmup_teacher_temp to teacher_temp over teacher_temp_warmup_steps. The centre c (method state)
moves after the loss: c ← m·c + (1 − m)·mean of the teacher outputs over the GLOBAL batch (parallel.global_mean),
m = center_momentum. After the optimiser step the teacher moves: ξ ← τ_k·ξ + (1 − τ_k)·θ, τ_k from base_tau to
final_tau on BYOL's cosine schedule.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ssljax import checks, losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common, representation
from ssljax.models import heads

CHECKS = {
  **representation.CHECKS,
  "base_tau": checks.UNIT,
  "final_tau": checks.UNIT,
  "student_temp": checks.POSITIVE,
  "teacher_temp": checks.POSITIVE,
  "warmup_teacher_temp": checks.POSITIVE,
  "teacher_temp_warmup_steps": checks.NON_NEGATIVE_INT,
  "center_momentum": checks.UNIT,
  "num_prototypes": checks.POSITIVE_INT,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "num_local_crops": checks.NON_NEGATIVE_INT,
  "local_crop_size": checks.integer(2),
  "local_crop_area": checks.Check(
    lambda v: len(v) == 2 and 0 < v[0] <= v[1] <= 1, "a pair (lo, hi) with 0 < lo <= hi <= 1", (0.5, 0.1)
  ),
  "augment.view": checks.one_of(*representation.VIEWS),
}


def check_crops(config, ds):
  """A local crop must be smaller than the image (and an image has no room for crops at its own size)."""
  side = min(ds.train_images.shape[1:3])
  if config.num_local_crops and not config.local_crop_size < side:
    raise ConfigError(
      f"config.local_crop_size={config.local_crop_size} must be smaller than the {ds.name} images ({side}x{side}) "
      f"for num_local_crops={config.num_local_crops}; use a size in [2, {side - 1}] or num_local_crops=0"
    )


def teacher_temperature(step, warmup_steps: int, start: float, end: float):
  """Linear warm-up of the teacher temperature from `start` to `end` over `warmup_steps`, then constant."""
  if warmup_steps <= 0:
    return jnp.asarray(end, jnp.result_type(float))
  frac = jnp.clip(jnp.asarray(step, jnp.result_type(float)) / warmup_steps, 0.0, 1.0)
  return start + (end - start) * frac


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  check_crops(config, ds)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  dtype, param_dtype = common.dtypes(config)
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=representation.mlp(
      config, config.proj_hidden_dim, config.proj_dim, num_layers=3, last_bn=False, activation=nn.gelu
    ),
    predictor=heads.Prototypes(config.num_prototypes, dtype=dtype, param_dtype=param_dtype),
  )
  normalize = common.normalizer(ds)
  num_local = int(config.num_local_crops)
  total, base_tau, final_tau = config.total_steps, float(config.base_tau), float(config.final_tau)
  s_temp, m = float(config.student_temp), float(config.center_momentum)
  t_args = (int(config.teacher_temp_warmup_steps), float(config.warmup_teacher_temp), float(config.teacher_temp))

  def init_method_state(variables):
    dtype = jax.tree.leaves(variables["params"])[0].dtype
    return {
      "params": variables["params"],
      "batch_stats": variables["batch_stats"],
      "center": jnp.zeros((config.num_prototypes,), dtype),
    }

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, g), batch_stats = common.forward(model, params, state.batch_stats, x)
    student = jnp.stack(jnp.split(g, 2))  # [2, b, K]
    if num_local:
      local = batch["local"]
      xl = normalize(local.reshape((-1,) + local.shape[2:]))
      (_, _, gl), batch_stats = common.forward(model, params, batch_stats, xl)
      student = jnp.concatenate([student, gl.reshape(num_local, -1, gl.shape[-1])])
    ms = state.method_state
    (_, _, t), _ = common.forward(model, ms["params"], ms["batch_stats"], x)
    teacher = lax.stop_gradient(jnp.stack(jnp.split(t, 2)))
    t_temp = teacher_temperature(state.step, *t_args)
    student = student.astype(jnp.promote_types(student.dtype, jnp.float32))
    value = jnp.mean(losses.dino_loss(student, teacher.astype(student.dtype), ms["center"], s_temp, t_temp))
    center = m * ms["center"] + (1 - m) * parallel.global_mean(teacher.reshape(-1, teacher.shape[-1]))
    metrics = {
      "loss": value,
      "teacher_temp": t_temp,
      "tau": representation.cosine_momentum(state.step, total, base_tau, final_tau),
      **representation.collapse_metrics(jnp.split(z, 2)[0]),
    }
    return value, train.LossOutput(metrics, batch_stats, {**ms, "center": center})

  def after_update(state):
    ms = state.method_state
    new = {}
    tau = representation.cosine_momentum(state.step - 1, total, base_tau, final_tau)
    new["params"] = representation.momentum_update(ms["params"], state.params, tau)
    new["batch_stats"] = representation.momentum_update(ms["batch_stats"], state.batch_stats, tau)
    return state.replace(method_state={**ms, **new})

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    num_local=num_local,
    collapse_hint=(
      "for DINO usually a teacher temperature too high or centring too weak "
      "(config.teacher_temp, config.center_momentum)"
    ),
    loss=loss,
    log_keys=("loss", "teacher_temp", "tau"),
    forward_only_images=2 * config.batch_size,  # the teacher on the two global views
    info={"num_local_crops": num_local},
    init_method_state=init_method_state,
    after_update=after_update,
  )
