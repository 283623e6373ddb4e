"""VICReg (Bardes et al., 2022): invariance between the two views' embeddings, plus a variance hinge and a
covariance penalty on each view that keep the embedding from collapsing.

One step: `batch_size` distinct train images, two views each, one forward of both (global BatchNorm). The
projections of every device are gathered (parallel.gather, differentiable), so the per-dimension std and the
covariance are over the GLOBAL batch; loss = sim_weight · s + var_weight · v + cov_weight · c
(losses.vicreg_terms: s the MSE between the views, v = Σ_views mean_d max(0, 1 − std_d), c = Σ_views off-diagonal
Cov² / D). Projector: 3 layers, BatchNorm + ReLU between, no BatchNorm on the output.
"""

import jax.numpy as jnp

from ssljax import checks, losses, parallel, train
from ssljax.methods import common, representation

CHECKS = {
  **representation.CHECKS,
  "sim_weight": checks.NON_NEGATIVE,
  "var_weight": checks.NON_NEGATIVE,
  "cov_weight": checks.NON_NEGATIVE,
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
    projector=representation.mlp(config, config.proj_hidden_dim, config.proj_dim, num_layers=3, last_bn=False),
  )
  normalize = common.normalizer(ds)
  w_sim, w_var, w_cov = float(config.sim_weight), float(config.var_weight), float(config.cov_weight)

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, _), batch_stats = common.forward(model, params, state.batch_stats, x)
    z = z.astype(jnp.promote_types(z.dtype, jnp.float32))
    z1, z2 = jnp.split(z, 2)
    inv, var, cov = losses.vicreg_terms(parallel.gather(z1), parallel.gather(z2))
    value = w_sim * inv + w_var * var + w_cov * cov
    metrics = {"loss": value, "invariance": inv, "variance": var, "covariance": cov}
    return value, train.LossOutput({**metrics, **representation.collapse_metrics(z1)}, batch_stats)

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint="for VICReg usually too small a variance weight against the invariance weight (config.var_weight)",
    loss=loss,
    log_keys=("loss", "invariance", "variance", "covariance"),
  )
