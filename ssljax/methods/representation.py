"""Pieces the self-supervised methods share: the encoder checks, feature extraction and the representation
evaluation that becomes their `Task.evaluate`.

Every self-supervised model keeps its encoder as the submodule named `encoder`; the evaluation runs on frozen
encoder features of the whole train and test sets, extracted in inference mode (BatchNorm running statistics) and
sharded over the mesh (ssljax.evaluate.representation_report):

  linear_probe_accuracy              logistic regression fit on the `num_labels` labelled examples (the same split
                                     and label draw as the semi-supervised methods), standardised features.
  linear_probe_accuracy_all          the same probe fit on every training label.
  knn_accuracy                       distance-weighted cosine kNN (k=20, τ=0.07) with every training label.
  kmeans_nmi                         k-means (K = number of classes) on test features against the test labels.
  linear_probe_accuracy_random_init  the 40-label probe on the same architecture at the run's own initial weights:
                                     the floor a pretext task has to clear.
  tsne.png                           2-D t-SNE of the test features coloured by class; final evaluation only.

`launch.py --config ... --workdir DIR --eval_only` re-runs it on the latest checkpoint of any run.

What every pre-training method gets from `ssl_task` (one implementation for SimCLR, RotNet and the joint-embedding
family):
  online probe      a linear classifier on stop-gradient, inference-mode encoder features (the same features the
                    evaluation uses), trained during pre-training on `probe_batch_size` images of the labelled
                    subset per step with its own optax optimiser (SGD, momentum 0.9, lr `probe_lr`); its params and
                    optimiser state live in the method state; `online_probe_accuracy` at every evaluation.
  collapse alarm    the method logs `embed_std` (the per-dimension std of the ℓ2-normalised embedding over the global
                    batch: 1/√d healthy, 0 collapsed) and `embed_rank` (effective rank); when embed_std stays below
                    `collapse_threshold`/√d for `collapse_patience` steps, the run prints one warning line naming
                    the knob that usually causes it.
"""

import functools
import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from ssljax import augment, checks, losses, optim, parallel, train
from ssljax import evaluate as evaluate_lib
from ssljax import state as state_lib
from ssljax.errors import ConfigError
from ssljax.methods import common

# The knobs of the online probe and the collapse alarm, which every pre-training method has.
CHECKS = {
  "probe_lr": checks.POSITIVE,
  "probe_batch_size": checks.POSITIVE_INT,
  "collapse_threshold": checks.number(0, 1, lo_open=True),
  "collapse_patience": checks.POSITIVE_INT,
}
PROBE_STREAM = 0x5EED  # the probe's batch key is fold_in(sample key, PROBE_STREAM): the method's own draws stay put


def check_encoder(encoder, ds, batch: int = 2) -> int:
  """The encoder's feature dimension F; ConfigError unless it maps images [B, H, W, C] to features [B, F].

  Checked abstractly with jax.eval_shape (no compile, no FLOPs).
  """
  x = jax.ShapeDtypeStruct((batch,) + ds.train_images.shape[1:], jnp.float32)

  def apply(x):
    variables = encoder.init(jax.random.key(0), x, train=False)
    return encoder.apply(variables, x, train=False)

  try:
    out = jax.eval_shape(apply, x)
  except Exception as e:  # noqa: BLE001 (any failure to trace means there is no usable feature output)
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise ConfigError(
      f"encoder {type(encoder).__name__} cannot be applied to {ds.name} images {tuple(x.shape[1:])}: {first}"
    ) from None
  shape = getattr(out, "shape", None)
  if shape is None or len(shape) != 2 or shape[0] != batch:
    got = shape if shape is not None else type(out).__name__
    raise ConfigError(
      f"encoder {type(encoder).__name__} has no feature output: it must map images [B, H, W, C] to "
      f"features [B, F], but returns {got} for B={batch}"
    )
  return int(shape[1])


def check_layers(encoder, ds, layers: Sequence[str]):
  """A misspelt probe layer fails now, not in the evaluation after training."""
  if layers:
    x = jax.ShapeDtypeStruct((2,) + ds.train_images.shape[1:], jnp.float32)
    jax.eval_shape(lambda x: encoder_features(encoder, encoder.init(jax.random.key(0), x, train=False), x, layers), x)


def encoder_variables(variables):
  """The `encoder` submodule's part of a model's variables."""
  return {k: v["encoder"] for k, v in variables.items() if "encoder" in v}


def encoder_features(encoder, variables, x, layers: Sequence[str] = ()):
  """Inference-mode features of `encoder`: its output, or, with `layers`, features from inside it: the outputs of
  its submodules named in `layers`, ReLU'd, global-average-pooled over space (4-D outputs) and concatenated."""
  if not layers:
    return encoder.apply(variables, x, train=False)
  layers = tuple(layers)
  _, state = encoder.apply(
    variables,
    x,
    train=False,
    mutable=["intermediates"],
    capture_intermediates=lambda m, method: method == "__call__" and m.name in layers,
  )
  captured = state.get("intermediates", {})
  outs = []
  for name in layers:
    if name not in captured:
      raise ConfigError(f"probe layer {name!r} is not a submodule of {type(encoder).__name__}")
    y = captured[name]["__call__"][0]
    outs.append(jnp.mean(jax.nn.relu(y), axis=(1, 2)) if y.ndim == 4 else y)
  return jnp.concatenate(outs, axis=-1)


def features_fn(encoder, ds, layers: Sequence[str] = (), dtype=jnp.float32):
  """features(model variables, uint8 images) -> [B, F], per device, inference mode. One function object per run,
  so the sharded extraction compiles once."""
  normalize = common.normalizer(ds)
  return lambda variables, images: encoder_features(
    encoder, encoder_variables(variables), normalize(common.to_float(images, dtype)), layers
  )


def representation_eval(
  features: Callable,
  ds,
  labelled_idx,
  init: Callable,
  seed: int,
  variables_of: Callable | None = None,
  extra: Callable | None = None,
  probe_of: Callable | None = None,
):
  """Task.evaluate for a self-supervised method.

  features(variables, uint8 images) -> [B, F] (features_fn); init(key) -> the model's initial variables (for the
  random-init probe, drawn as train.init_state draws them); variables_of(state) -> the variables `features` takes
  (default: params and batch_stats); extra(state, mesh) -> dict of more results (e.g. RotNet's rotation accuracy);
  probe_of(state) -> the online probe's params {'kernel', 'bias'}, scored on the test features
  (online_probe_accuracy).
  """
  variables_of = variables_of or (lambda state: {"params": state.params, "batch_stats": state.batch_stats})
  random_init = {}

  def evaluate(state, mesh, workdir, final):
    train_feats = parallel.batched_apply(features, variables_of(state), ds.train_images, mesh)
    test_feats = parallel.batched_apply(features, variables_of(state), ds.test_images, mesh)
    out = evaluate_lib.representation_report(
      train_feats, ds.train_labels, test_feats, ds.test_labels, labelled_idx, ds.num_classes, workdir if final else None
    )
    if "probe" not in random_init:
      initial = jax.jit(init)(jax.random.key(seed, impl="rbg"))
      random_init["probe"] = linear_probe_only(features, initial, ds, labelled_idx, mesh)
    out["linear_probe_accuracy_random_init"] = random_init["probe"]
    if probe_of is not None:
      probe = jax.device_get(probe_of(state))
      logits = np.asarray(test_feats, np.float64) @ np.asarray(probe["kernel"], np.float64) + probe["bias"]
      out["online_probe_accuracy"] = float(np.mean(np.argmax(logits, -1) == ds.test_labels))
    if extra is not None:
      out.update(extra(state, mesh))
    return out

  return evaluate


def linear_probe_only(features, variables, ds, labelled_idx, mesh) -> float:
  """linear_probe_accuracy (num_labels labels, standardised features) of `features` under `variables`."""
  train_feats = parallel.batched_apply(features, variables, ds.train_images, mesh)
  test_feats = parallel.batched_apply(features, variables, ds.test_images, mesh)
  return evaluate_lib.linear_probe(train_feats, ds.train_labels, test_feats, ds.test_labels, labelled_idx=labelled_idx)


# ---------------------------------------------------------------- online probe, collapse alarm, the SSL task


class OnlineProbe:
  """A linear classifier trained inside the step on stop-gradient features of labelled images.

  Its gradient follows the repository's convention (docs/design.md): the probe's params are replicated, so each
  device differentiates its local mean / num_devices and the implicit sum over devices gives the global gradient.
  """

  def __init__(self, features, feature_dim: int, num_classes: int, lr: float, batch_size: int):
    self.features, self.feature_dim, self.num_classes = features, feature_dim, num_classes
    self.batch_size = batch_size
    self.tx = optax.sgd(lr, momentum=0.9)

  def init(self, dtype):
    params = {
      "kernel": jnp.zeros((self.feature_dim, self.num_classes), dtype),
      "bias": jnp.zeros((self.num_classes,), dtype),
    }
    return {"params": params, "opt_state": self.tx.init(params)}

  def sample(self, data, key):
    idx, _ = common.draw(key, self.batch_size, data["probe_x"].shape[0])
    return {"x": data["probe_x"][idx], "y": data["probe_y"][idx]}

  def update(self, probe_state, variables, batch):
    """One optimiser step on this device's rows of the probe batch; returns (new probe state, metrics)."""
    feats = lax.stop_gradient(self.features(variables, batch["x"]))
    n = lax.axis_size(parallel.AXIS)

    def loss(params):
      logits = feats.astype(params["kernel"].dtype) @ params["kernel"] + params["bias"]
      value = losses.cross_entropy(logits, batch["y"]).mean()
      return value / n, (value, jnp.mean(jnp.argmax(logits, -1) == batch["y"]))

    grads, (value, accuracy) = jax.grad(loss, has_aux=True)(probe_state["params"])
    updates, opt_state = self.tx.update(grads, probe_state["opt_state"], probe_state["params"])
    params = optax.apply_updates(probe_state["params"], updates)
    return {"params": params, "opt_state": opt_state}, {"probe_loss": value, "probe_acc": accuracy}


def collapse_metrics(z):
  """embed_std and embed_rank of an embedding over the GLOBAL batch (this device's rows [B, D]), no gradient."""
  g = lax.stop_gradient(parallel.gather(z)).astype(jnp.promote_types(z.dtype, jnp.float32))
  return {"embed_std": losses.embedding_std(g), "embed_rank": losses.effective_rank(g)}


class CollapseAlarm:
  """Host-side: one warning line when embed_std stays below threshold/√d for `patience` steps (Task.on_log)."""

  def __init__(self, embed_dim: int, threshold: float, patience: int, hint: str):
    self.limit = threshold / math.sqrt(embed_dim)
    self.embed_dim, self.threshold, self.patience, self.hint = embed_dim, threshold, patience, hint
    self.below_since, self.fired = None, False

  def __call__(self, step: int, scalars: dict):
    std = scalars.get("embed_std")
    if std is None or self.fired:
      return
    if std >= self.limit:
      self.below_since = None
      return
    self.below_since = step if self.below_since is None else self.below_since
    if step - self.below_since >= self.patience:
      self.fired = True
      print(
        f"warning: the representation collapsed: embed_std {std:.4f} < {self.limit:.4f} "
        f"(collapse_threshold {self.threshold:g} / sqrt({self.embed_dim})) since step {self.below_since}; "
        f"{self.hint}",
        flush=True,
      )


def ssl_task(
  config,
  ds,
  labelled,
  *,
  model,
  features,
  feature_dim: int,
  embed_dim: int,
  collapse_hint: str,
  sample: Callable,
  loss: Callable,
  arrays: dict,
  images_per_step: int,
  log_keys: tuple,
  forward_only_images: int = 0,
  info: dict,
  init_method_state: Callable | None = None,
  after_update: Callable | None = None,
  extra: Callable | None = None,
  tx=None,
) -> train.Task:
  """A train.Task for a pre-training method, with the online probe and the collapse alarm added around the method's
  own sample / loss / method state (the method sees its own state as `state.method_state`; the probe's sits beside
  it). The method's loss adds collapse_metrics(z) of its embedding to its metrics."""
  in_dtype = common.input_dtype(config)
  init = common.init_fn(model, ds, in_dtype)
  probe = OnlineProbe(features, feature_dim, ds.num_classes, float(config.probe_lr), int(config.probe_batch_size))
  arrays = {**arrays, "probe_x": ds.train_images[labelled], "probe_y": ds.train_labels[labelled].astype(np.int32)}

  def own(state):
    return state.replace(method_state=state.method_state["method"])

  def wrapped_init_method_state(variables):
    dtype = jnp.result_type(*jax.tree.leaves(variables["params"]))
    method = init_method_state(variables) if init_method_state is not None else {}
    return {"method": method, "probe": probe.init(dtype)}

  def wrapped_sample(data, key):
    return {"ssl": sample(data, key), "probe": probe.sample(data, jax.random.fold_in(key, PROBE_STREAM))}

  def wrapped_loss(params, state, batch, key):
    value, out = loss(params, own(state), batch["ssl"], key)
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    probe_state, probe_metrics = probe.update(state.method_state["probe"], variables, batch["probe"])
    method = state.method_state["method"] if out.method_state is None else out.method_state
    return value, train.LossOutput(
      {**out.metrics, **probe_metrics}, out.batch_stats, {"method": method, "probe": probe_state}
    )

  def wrapped_after_update(state):
    new = after_update(own(state))
    return new.replace(method_state={**state.method_state, "method": new.method_state})

  alarm = CollapseAlarm(embed_dim, float(config.collapse_threshold), int(config.collapse_patience), collapse_hint)
  return train.Task(
    init=init,
    sample=wrapped_sample,
    loss=wrapped_loss,
    tx=tx if tx is not None else optim.make(config),
    arrays=arrays,
    images_per_step=images_per_step,
    forward_only_images=forward_only_images,
    evaluate=representation_eval(
      features, ds, labelled, init, config.seed, extra=extra, probe_of=lambda s: s.method_state["probe"]["params"]
    ),
    init_method_state=wrapped_init_method_state,
    after_update=wrapped_after_update if after_update is not None else None,
    on_log=alarm,
    log_keys=tuple(log_keys) + ("embed_std", "embed_rank", "probe_acc"),
    info={"num_classes": ds.num_classes, "model": config.model, "feature_dim": feature_dim, **info},
  )


# ---------------------------------------------------------------- the joint-embedding family's shared pieces


def joint_embedding_task(config, ds, labelled, encoder, feature_dim: int, *, num_local: int = 0, **fields):
  """ssl_task for the joint-embedding methods: two views (view_fns) of `batch_size` distinct train images, plus
  `num_local` local crops (local_view_fn), every train image in the pool (two_views); the encoder's pooled features
  probed and the config.proj_dim embedding watched; `fields` give the model, loss, hint, log keys and own state."""
  b, in_dtype = config.batch_size, common.input_dtype(config)
  view1, view2 = view_fns(config, ds)
  local_view = local_view_fn(config, ds) if num_local else None
  x_all, _ = common.unlabelled_arrays(ds, slice(None))
  fields.setdefault("info", {})
  return ssl_task(
    config,
    ds,
    labelled,
    features=features_fn(encoder, ds, dtype=in_dtype),
    feature_dim=feature_dim,
    embed_dim=config.proj_dim,
    sample=two_views(view1, view2, b, in_dtype, num_local, local_view),
    arrays={"x": x_all},
    images_per_step=(2 + num_local) * b,
    **fields,
  )


class EmbeddingNet(nn.Module):
  """encoder → projector [→ predictor]: returns (h, z, p), p = z without a predictor. The predictor slot also takes
  DINO's and SwAV's prototypes (heads.Prototypes). `embed` (encoder → projector) is what momentum targets run."""

  encoder: nn.Module
  projector: nn.Module
  predictor: nn.Module | None = None

  def __call__(self, x, train: bool):
    h = self.encoder(x, train=train)
    z = self.projector(h, train=train)
    p = z if self.predictor is None else self.predictor(z, train=train)
    return h, z, p

  def embed(self, x, train: bool):
    return self.projector(self.encoder(x, train=train), train=train)


def mlp(config, hidden_dim: int, out_dim: int, **kwargs):
  """heads.MLPHead with the run's dtypes, global BatchNorm and the encoder's BN momentum."""
  from ssljax.models import heads

  dtype, param_dtype = common.dtypes(config)
  return heads.MLPHead(
    hidden_dim=hidden_dim,
    out_dim=out_dim,
    bn_momentum=config.model_kwargs.get("bn_momentum", 0.9),
    axis_name=parallel.AXIS,
    dtype=dtype,
    param_dtype=param_dtype,
    **kwargs,
  )


def cosine_momentum(step, total_steps: int, base: float, final: float = 1.0):
  """BYOL §3.2: τ_k = final − (final − base)·(cos(πk/K) + 1)/2, from base at k = 0 to final at k = K."""
  k = jnp.asarray(step, jnp.result_type(float))
  return final - (final - base) * (jnp.cos(jnp.pi * k / total_steps) + 1.0) / 2.0


def momentum_update(target, online, tau):
  """target ← τ·target + (1−τ)·online, leaf by leaf (params and BatchNorm statistics alike)."""
  return state_lib.ema(target, online, tau)


def online_part(params, keys=("encoder", "projector")):
  """The submodules of the online network a momentum target copies."""
  return {k: params[k] for k in keys if k in params}


def view_fns(config, ds):
  """(view 1, view 2) per-example augmentations of float images from config.augment.view:
  'affine'  augment.strong(style='affine'): the digits view (SimCLR's digits config), both views alike;
  'simclr'  augment.simclr_view, both views alike;
  'jitter'  augment.jitter_view with per-view blur_prob / solarize_prob pairs (BYOL's asymmetric views)."""
  a = config.augment
  if a.view == "affine":
    v = functools.partial(
      augment.strong, allow_flip=ds.allow_flip, max_shift=a.strong_shift, cutout=a.cutout, style="affine"
    )
    return v, v
  if a.view == "simclr":
    v = functools.partial(
      augment.simclr_view, allow_flip=ds.allow_flip, strength=a.strength, crop_area=tuple(a.crop_area), blur=a.blur
    )
    return v, v
  if a.view == "jitter":
    make = lambda i: functools.partial(
      augment.jitter_view,
      allow_flip=ds.allow_flip,
      crop_area=tuple(a.crop_area),
      brightness=a.brightness,
      contrast=a.contrast,
      saturation=a.saturation,
      hue=a.hue,
      jitter_prob=a.jitter_prob,
      gray_prob=a.gray_prob,
      blur_prob=a.blur_prob[i],
      solarize_prob=a.solarize_prob[i],
    )
    return make(0), make(1)
  raise ConfigError(f"config.augment.view must be one of {', '.join(VIEWS)}, got {a.view!r}")


VIEWS = ("affine", "simclr", "jitter")


def local_view_fn(config, ds):
  """Multi-crop's small crops: augment.local_crop to config.local_crop_size, then the first view's augmentation at
  that size (for 'jitter', the crop is the view's own random resized crop)."""
  a, size = config.augment, int(config.local_crop_size)
  area = tuple(config.local_crop_area)
  if a.view == "jitter":
    return functools.partial(
      augment.jitter_view,
      allow_flip=ds.allow_flip,
      crop_area=area,
      brightness=a.brightness,
      contrast=a.contrast,
      saturation=a.saturation,
      hue=a.hue,
      jitter_prob=a.jitter_prob,
      gray_prob=a.gray_prob,
      blur_prob=a.blur_prob[0] * 0.5,
      solarize_prob=0.0,
      out_size=size,
    )
  base, _ = view_fns(config, ds)

  def view(key, image):
    k1, k2 = jax.random.split(key)
    return base(k2, augment.local_crop(k1, image, size=size, area=area))

  return view


def two_views(view1, view2, batch_size: int, dtype, num_local: int = 0, local_view=None):
  """sample(data, key) for the joint-embedding methods: `batch_size` distinct train images (labels unused), two views
  with independent per-example keys (and `num_local` small crops for multi-crop), this device's rows."""

  def sample(data, key):
    idx, keys = common.draw_distinct(key, batch_size, data["x"].shape[0])
    x = common.to_float(data["x"][idx], dtype)
    ks = jax.vmap(lambda k: jax.random.split(k, 2 + num_local), out_axes=1)(keys)  # [2 + L, b]
    out = {"v1": jax.vmap(view1)(ks[0], x), "v2": jax.vmap(view2)(ks[1], x)}
    if num_local:
      out["local"] = jnp.stack([jax.vmap(local_view)(ks[2 + i], x) for i in range(num_local)])
    return out

  return sample
