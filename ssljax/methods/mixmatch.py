"""MixMatch (Berthelot et al., 2019): guessed, sharpened labels for unlabelled data, MixUp of everything.

One step, for a global batch of B labelled and B unlabelled examples:
  1. x̂ = one weak view of each labelled example; û_k = K weak views of each unlabelled example.
  2. Label guess q = Sharpen((1/K) Σ_k p_model(û_k), T), no gradient (one forward over the K·B views). With
     config.distribution_alignment, the average is first aligned to a uniform class marginal (ReMixMatch §3.1,
     losses.distribution_alignment) with p̃ = the mean guess over the global batch (ReMixMatch keeps a running mean
     over 128 batches; K·B = 128 guesses per step are enough for 10 classes and keep the step stateless).
  3. W = shuffle(concat(X̂, Û)) (Û: all K views, each with target q); every row i of X̂ and Û is mixed with
     row π(i) of the concatenation: x' = λ'·x_i + (1−λ')·x_π(i), targets alike, λ' = max(λ, 1−λ), λ ~ Beta(α, α).
  4. loss = L_X + λu·ramp(step)·L_U (losses.mixmatch_loss): cross-entropy on the mixed labelled rows, squared
     error between probabilities on the mixed unlabelled rows; ramp = min(step / rampup_steps, 1).

Devices. The mix is over the GLOBAL batch: the permutation π and the λ's are drawn from the step key (identical on
every device) for all (1+K)·B global rows, each device mixes only its own rows, and fetches the partner rows (images
and targets, which carry no gradient) from `lax.all_gather` of every device's augmented inputs and label guesses.
Global row order is fixed independently of the device count (labelled rows 0..B−1, then view k of unlabelled example j
at B + k·B + j), so 1 device and N devices compute the same step for the same global batch (tests/test_mixmatch.py).

BatchNorm. The paper interleaves labelled and unlabelled rows so that each of its per-batch forwards sees the same
mixture; here BatchNorm statistics are global (axis 'data') and the mixed labelled and unlabelled rows go through ONE
forward as a single batch, which gives every row the same statistics without interleaving. The label-guess forward
(train mode, global statistics of the K·B weak views) does not update the running statistics: they come from the
mixed forward, the one that is differentiated.
"""

import jax
import jax.numpy as jnp
from jax import lax

from ssljax import losses, parallel, train
from ssljax.errors import ConfigError
from ssljax.methods import common


def mix_lambda(lam):
  """MixMatch eq. (9): λ' = max(λ, 1 − λ), so that each mixed row stays closer to its own example."""
  return jnp.maximum(lam, 1.0 - lam)


def rampup(step, rampup_steps: int):
  """Linear ramp-up weight min(step / rampup_steps, 1) of the unlabelled loss (1 throughout when rampup_steps=0)."""
  if rampup_steps <= 0:
    return jnp.ones((), jnp.float32)
  return jnp.clip(jnp.asarray(step, jnp.float32) / rampup_steps, 0.0, 1.0)


def validate(config):
  """One clear ConfigError for nonsense MixMatch settings (before any data is loaded)."""
  k = config.get("num_augment")
  if not isinstance(k, int) or isinstance(k, bool) or k < 1:
    raise ConfigError(f"config.num_augment (K, unlabelled augmentations) must be an integer >= 1, got {k!r}")
  checks = (
    ("temperature", "the sharpening temperature T", lambda v: v > 0, "> 0"),
    ("mixup_alpha", "the MixUp Beta(α, α) parameter", lambda v: v > 0, "> 0"),
    ("lambda_u", "the unlabelled loss weight", lambda v: v >= 0, ">= 0"),
  )
  for key, what, ok, bound in checks:
    v = config.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not ok(v) or v != v or v == float("inf"):
      raise ConfigError(f"config.{key} ({what}) must be a finite number {bound}, got {v!r}")
  if config.get("view", "weak") not in ("weak", "strong"):
    raise ConfigError(f"config.view must be 'weak' or 'strong', got {config.get('view')!r}")
  if not isinstance(config.get("distribution_alignment", False), bool):
    raise ConfigError(
      f"config.distribution_alignment must be True or False, got {config.get('distribution_alignment')!r}"
    )
  r = config.get("rampup_steps")
  if not isinstance(r, int) or isinstance(r, bool) or r < 0:
    raise ConfigError(f"config.rampup_steps must be an integer >= 0 (0: no ramp-up), got {r!r}")


def _global_rows(b_local, num_views):
  """Global positions of this device's rows in concat(X̂ [B], Û [K·B]) (see the module docstring)."""
  n = lax.axis_size(parallel.AXIS)
  b = b_local * n
  own = lax.axis_index(parallel.AXIS) * b_local + jnp.arange(b_local)
  return jnp.concatenate([own] + [b + k * b + own for k in range(num_views)])


def build(config) -> train.Task:
  validate(config)
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  arrays = {"x_l": ds.train_images[labelled], "y_l": ds.train_labels[labelled], "x_u": x_u, "y_u": y_u}
  model = common.classifier(config, ds)
  normalize = common.normalizer(ds)
  weak, strong = common.augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.get("view", "weak")]  # the paper: weak (flip + translate)
  b, num_views, num_classes = config.batch_size, config.num_augment, ds.num_classes
  temperature, alpha = float(config.temperature), float(config.mixup_alpha)
  lambda_u, rampup_steps = float(config.lambda_u), int(config.rampup_steps)
  align = bool(config.get("distribution_alignment", False))

  def sample(data, key):
    k_l, k_u = jax.random.split(key)
    il, keys_l = common.draw(k_l, b, data["x_l"].shape[0])
    iu, keys_u = common.draw(k_u, b, data["x_u"].shape[0])
    u = common.to_float(data["x_u"][iu])
    view_keys = jax.vmap(lambda k: jax.random.split(k, num_views), out_axes=1)(keys_u)  # [K, b_local]
    return {
      "x_l": jax.vmap(view)(keys_l, common.to_float(data["x_l"][il])),
      "y_l": data["y_l"][il],
      "u": jax.vmap(lambda ks: jax.vmap(view)(ks, u))(view_keys),  # [K, b_local, H, W, C]
      "y_u": data["y_u"][iu],
    }

  def loss(params, batch_stats, batch, key, step):
    x_l, u = batch["x_l"], batch["u"]
    bl = x_l.shape[0]
    image_shape = x_l.shape[1:]
    u_flat = u.reshape((num_views * bl,) + image_shape)

    # Label guess: average of the K views' predictions, sharpened; no gradient, running statistics untouched.
    logits_g, _ = model.apply(
      {"params": params, "batch_stats": batch_stats}, normalize(u_flat), train=True, mutable=["batch_stats"]
    )
    probs = jax.nn.softmax(lax.stop_gradient(logits_g)).reshape(num_views, bl, num_classes).mean(0)
    if align:  # marginal of the guesses over the global batch, so every device aligns alike
      probs = losses.distribution_alignment(probs, lax.pmean(probs.mean(0), parallel.AXIS))
    q = losses.sharpen(probs, temperature)  # [b_local, C]

    # MixUp over the global batch: every device draws the same π and λ for all (1+K)·B rows and mixes its own.
    gather = lambda a, axis=0: lax.all_gather(a, parallel.AXIS, axis=axis, tiled=True)
    p_l = jax.nn.one_hot(batch["y_l"], num_classes)
    w_x = jnp.concatenate([gather(x_l), gather(u, axis=1).reshape((-1,) + image_shape)])
    q_all = gather(q)
    w_y = jnp.concatenate([gather(p_l), jnp.tile(q_all, (num_views, 1))])
    rows = w_x.shape[0]
    k_perm, k_lam = jax.random.split(key)
    perm = jax.random.permutation(k_perm, rows)
    lam = mix_lambda(jax.random.beta(k_lam, alpha, alpha, (rows,)))
    mine = _global_rows(bl, num_views)
    partner, lam = perm[mine], lam[mine]
    lx = lam.reshape((-1,) + (1,) * len(image_shape))
    mixed_x = lx * w_x[mine] + (1 - lx) * w_x[partner]
    mixed_y = lam[:, None] * w_y[mine] + (1 - lam[:, None]) * w_y[partner]

    # One forward over the mixed labelled + unlabelled rows (global BatchNorm statistics; see the docstring).
    logits, mutated = model.apply(
      {"params": params, "batch_stats": batch_stats}, normalize(mixed_x), train=True, mutable=["batch_stats"]
    )
    sup, unsup = losses.mixmatch_loss(logits[:bl], mixed_y[:bl], logits[bl:], mixed_y[bl:])
    weight = lambda_u * rampup(step, rampup_steps)
    known = (batch["y_u"] >= 0).astype(jnp.float32)
    metrics = {
      "loss": sup + weight * unsup,
      "sup_loss": sup,
      "unsup_loss": unsup,
      "lambda_u": weight,
      # Accuracy of the guessed labels against the hidden labels (where known): the confirmation-bias alarm.
      "guess_acc": jnp.sum((jnp.argmax(q, -1) == batch["y_u"]) * known) / jnp.maximum(jnp.sum(known), 1.0),
      "guess_max_prob": jnp.mean(jnp.max(q, -1)),
    }
    return metrics["loss"], (mutated["batch_stats"], metrics)

  return common.classifier_task(
    config,
    ds,
    model,
    normalize,
    sample=sample,
    loss=loss,
    # Images forwarded per step: K·B guessed views (forward only), (1+K)·B mixed rows (forward + backward).
    arrays=arrays,
    images_per_step=b * (1 + 2 * num_views),
    log_keys=("loss", "sup_loss", "unsup_loss", "lambda_u", "guess_acc"),
  )


def run(config, workdir, eval_only=False):
  return train.train_and_evaluate(config, workdir, build, eval_only)
