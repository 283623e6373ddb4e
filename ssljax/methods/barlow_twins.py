"""Barlow Twins (Zbontar et al., 2021): the cross-correlation matrix of the two views' standardised embeddings is
driven to the identity.

One step: `batch_size` distinct train images, two views each, one forward of both (global BatchNorm). The
projections of every device are gathered (parallel.gather, whose transpose returns each device its rows'
cotangents), so the standardisation and C = ẑ1ᵀẑ2 / N are over the GLOBAL batch, whatever the device count;
loss = scale_loss · [Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²] (losses.barlow_twins_loss), λ = lambda_offdiag.
Projector: 3 layers, BatchNorm + ReLU between, no BatchNorm and no bias on the output (the paper's code).
"""

import jax.numpy as jnp

from ssljax import checks, losses, parallel, train
from ssljax.methods import common, representation

CHECKS = {
  **representation.CHECKS,
  "lambda_offdiag": checks.NON_NEGATIVE,
  "scale_loss": checks.POSITIVE,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "augment.view": checks.one_of(*representation.VIEWS),
}


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=representation.mlp(
      config, config.proj_hidden_dim, config.proj_dim, num_layers=3, last_bn=False, out_bias=False
    ),
  )
  normalize = common.normalizer(ds)
  lambd, scale = float(config.lambda_offdiag), float(config.scale_loss)

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, _), batch_stats = common.forward(model, params, state.batch_stats, x)
    z = z.astype(jnp.promote_types(z.dtype, jnp.float32))
    z1, z2 = jnp.split(z, 2)
    total, on, off = losses.barlow_twins_loss(parallel.gather(z1), parallel.gather(z2), lambd)
    value = scale * total
    metrics = {"loss": value, "on_diag": on, "off_diag": off, **representation.collapse_metrics(z1)}
    return value, train.LossOutput(metrics, batch_stats)

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint="for Barlow Twins usually too small an off-diagonal weight (config.lambda_offdiag)",
    loss=loss,
    log_keys=("loss", "on_diag", "off_diag"),
  )
