"""SimSiam (Chen & He, 2021): encoder → projector → predictor; each view's prediction matches the other view's
projection under stop-gradient. No momentum network, no negatives.

One step: `batch_size` distinct train images, two views each, one forward of both (global BatchNorm);
loss = ½ D(p1, z2) + ½ D(p2, z1), D = −cos with stop-gradient on z (losses.simsiam_loss). Projector: 3 layers with
BatchNorm, the last one too; predictor: 2-layer bottleneck (pred_hidden_dim).
"""

import jax.numpy as jnp

from ssljax import checks, losses, train
from ssljax.methods import common, representation

CHECKS = {
  **representation.CHECKS,
  "proj_dim": checks.POSITIVE_INT,
  "proj_hidden_dim": checks.POSITIVE_INT,
  "pred_hidden_dim": checks.POSITIVE_INT,
  "augment.view": checks.one_of(*representation.VIEWS),
}


def build(config) -> train.Task:
  ds, labelled, _ = common.load_split(config)
  encoder = common.encoder(config)
  feature_dim = representation.check_encoder(encoder, ds)
  mlp = representation.mlp
  model = representation.EmbeddingNet(
    encoder=encoder,
    projector=mlp(config, config.proj_hidden_dim, config.proj_dim, num_layers=3, last_bn=True),
    predictor=mlp(config, config.pred_hidden_dim, config.proj_dim, last_bn=False),
  )
  normalize = common.normalizer(ds)

  def loss(params, state, batch, key):
    del key
    x = normalize(jnp.concatenate([batch["v1"], batch["v2"]]))
    (_, z, p), batch_stats = common.forward(model, params, state.batch_stats, x)
    z1, z2 = jnp.split(z, 2)
    p1, p2 = jnp.split(p, 2)
    value = 0.5 * jnp.mean(losses.simsiam_loss(p1, z2)) + 0.5 * jnp.mean(losses.simsiam_loss(p2, z1))
    return value, train.LossOutput({"loss": value, **representation.collapse_metrics(z1)}, batch_stats)

  return representation.joint_embedding_task(
    config,
    ds,
    labelled,
    encoder,
    feature_dim,
    model=model,
    collapse_hint="for SimSiam usually too high a learning rate or weight decay (config.lr, config.weight_decay)",
    loss=loss,
    log_keys=("loss",),
  )
