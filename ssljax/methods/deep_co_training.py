"""Deep Co-Training (Qiao et al., 2018), two views: two networks in one state learn the labelled set, agree on the
unlabelled set and are kept different by each other's adversarial examples.

  L = L_sup + λ_cot·ramp·L_cot + λ_dif·ramp·L_dif, over a batch of B labelled and mu·B unlabelled images:
  L_sup  cross-entropy of both networks on the labelled rows;
  L_cot  Jensen–Shannon divergence H(½(p₁ + p₂)) − ½(H(p₁) + H(p₂)) on the unlabelled rows (eq. 2);
  L_dif  H(p₁(x), p₂(g₁(x))) + H(p₂(x), p₁(g₂(x))) on all rows (eq. 3), g_k(x) = clip(x + ε·sign ∇ₓ CE(p_k(x), ŷ))
         network k's FGSM example (ŷ the label, or network k's own prediction on unlabelled rows), held fixed;
  ramp = min(step / rampup_steps, 1).

Both networks see the same augmented images; their BatchNorm statistics come from the clean forward, over the
global batch. The FGSM gradient is that of the global batch's loss (the transpose of BatchNorm's pmean carries the
other devices' terms), so 1 and N devices perturb alike. The evaluation reports each network (test_accuracy_a, _b),
their agreement and their combined prediction (mean probability), which is test_accuracy.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssljax import checks, losses, optim, parallel, train
from ssljax.methods import common
from ssljax.methods.mixmatch import rampup

CHECKS = {
  "mu": checks.POSITIVE_INT,
  "lambda_cot": checks.NON_NEGATIVE,
  "lambda_dif": checks.NON_NEGATIVE,
  "epsilon": checks.POSITIVE,
  "rampup_steps": checks.NON_NEGATIVE_INT,
  "view": checks.one_of("weak", "strong"),
}


class Pair(nn.Module):
  """Two classifiers; x [2, B, H, W, C] holds each one's input, the output [2, B, C] each one's logits."""

  net_a: nn.Module
  net_b: nn.Module

  def __call__(self, x, train: bool):
    return jnp.stack([self.net_a(x[0], train=train), self.net_b(x[1], train=train)])


def build(config) -> train.Task:
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  x_l, y_l, _ = common.labelled_pool(config, ds, labelled, unlabelled)
  arrays = {"x_l": x_l, "y_l": y_l, "x_u": x_u, "y_u": y_u}
  model = Pair(common.classifier(config, ds), common.classifier(config, ds))
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.view]
  b, mu, dtype = config.batch_size, config.mu, common.input_dtype(config)
  epsilon, rampup_steps = float(config.epsilon), int(config.rampup_steps)

  sample = common.same_view_sampler(b, mu, view, dtype)

  def forward(params, batch_stats, x):
    return common.forward(model, params, batch_stats, normalize(x))

  def loss(params, state, batch, key):
    del key
    n_l = batch["x_l"].shape[0]
    x = jnp.concatenate([batch["x_l"], batch["u"]])
    pair_x = jnp.stack([x, x])
    logits, batch_stats = forward(params, state.batch_stats, pair_x)  # [2, n, C]
    pred = jax.lax.stop_gradient(jnp.argmax(logits, -1))
    targets = jnp.concatenate([jnp.broadcast_to(batch["y_l"], (2, n_l)), pred[:, n_l:]], axis=1)

    def attacked_loss(inputs):  # each network's loss on its own input; the sum over the global batch (see above)
      out, _ = forward(jax.lax.stop_gradient(params), state.batch_stats, inputs)
      return jnp.sum(losses.cross_entropy(out, targets))

    grad = jax.grad(attacked_loss)(pair_x)
    adv = jax.lax.stop_gradient(jnp.clip(pair_x + epsilon * jnp.sign(grad), 0.0, 1.0))
    # Network a on b's adversarial images, b on a's: each should agree with the other's clean prediction.
    adv_logits, _ = forward(params, state.batch_stats, adv[::-1])
    probs = jax.nn.softmax(logits)
    sup = jnp.sum(jnp.mean(losses.cross_entropy(logits[:, :n_l], jnp.broadcast_to(batch["y_l"], (2, n_l))), -1))
    cot = jnp.mean(losses.jensen_shannon(logits[0, n_l:], logits[1, n_l:]))
    dif = jnp.sum(jnp.mean(losses.soft_cross_entropy(adv_logits, probs[::-1]), -1))
    rate = lambda hits: jnp.mean(hits.astype(logits.dtype))  # in the run's precision (float64 in the equality test)
    weight = rampup(state.step, rampup_steps)
    value = sup + weight * (config.lambda_cot * cot + config.lambda_dif * dif)
    metrics = {
      "loss": value,
      "sup_loss": sup,
      "cot_loss": cot,
      "dif_loss": dif,
      "agreement_u": rate(pred[0, n_l:] == pred[1, n_l:]),
      # How often an adversarial image of one network fools the other (the views DCT keeps apart).
      "adv_fooled": rate(jnp.argmax(adv_logits, -1) != pred[::-1]),
      "pseudo_label_acc": common.hidden_label_accuracy(pred[0, n_l:], batch["y_u"]),
    }
    return value, train.LossOutput(metrics, batch_stats)

  def init(key):
    return model.init(key, jnp.zeros((2, 1) + ds.train_images.shape[1:], dtype), train=False)

  def apply(variables, images):
    x = normalize(common.to_float(images, dtype))
    logits = model.apply(variables, jnp.stack([x, x]), train=False)
    pred = jnp.argmax(logits, -1)
    combined = jnp.argmax(jnp.mean(jax.nn.softmax(logits), 0), -1)
    return {"a": pred[0], "b": pred[1], "combined": combined}

  def evaluate(state, mesh, workdir, final):
    del workdir, final
    params = state.ema_params if config.get("ema_decay") else state.params
    out = parallel.batched_apply(apply, {"params": params, "batch_stats": state.batch_stats}, ds.test_images, mesh)
    correct = {k: float(np.mean(out[k] == ds.test_labels)) for k in ("a", "b", "combined")}
    return {
      "test_accuracy": correct["combined"],
      "test_accuracy_a": correct["a"],
      "test_accuracy_b": correct["b"],
      "agreement": float(np.mean(out["a"] == out["b"])),
    }

  return train.Task(
    init=init,
    sample=sample,
    loss=loss,
    evaluate=evaluate,
    tx=optim.make(config),
    arrays=arrays,
    images_per_step=b * (1 + mu),
    log_keys=("loss", "sup_loss", "cot_loss", "dif_loss", "agreement_u", "adv_fooled"),
    info={"num_classes": ds.num_classes, "model": config.model},
  )
