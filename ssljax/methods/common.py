"""Pieces the methods share: data split, model, precision, normalisation, augmentation, the train-mode forward,
global-batch sampling and the classifier evaluation."""

import dataclasses
import functools
import itertools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, checks, losses, models, optim, parallel, train
from ssljax import data as data_lib
from ssljax.errors import ConfigError


def load(config):
  """The dataset of config.dataset, with the config's data_dir, image_size, allow_flip and on_bad_image."""
  return data_lib.load(
    config.dataset,
    config.get("data_dir") or None,
    image_size=config.get("image_size") or None,
    allow_flip=config.get("allow_flip"),
    on_bad_image=config.get("on_bad_image", "fail"),
  )


def load_split(config):
  """The dataset, and the balanced labelled subset drawn by config.seed (the rest of train is unlabelled)."""
  ds = load(config)
  labelled, unlabelled = data_lib.split_labelled(ds.train_labels, config.num_labels, ds.num_classes, config.seed)
  return ds, labelled, unlabelled


def unlabelled_arrays(ds, unlabelled_idx):
  """Unlabelled images with their hidden labels (-1 where unknown), for pseudo-label diagnostics only.

  When every training image is labelled (num_labels=-1) and the dataset has no unlabelled-only images, the
  unlabelled pool is the whole training set (the fully supervised setting of semi-supervised papers).
  """
  if len(np.arange(len(ds.train_labels))[unlabelled_idx]) == 0 and ds.unlabelled_images is None:
    unlabelled_idx = slice(None)
  x_u, y_u = ds.train_images[unlabelled_idx], ds.train_labels[unlabelled_idx].astype(np.int32)
  if ds.unlabelled_images is not None:
    x_u = np.concatenate([x_u, ds.unlabelled_images])
    y_u = np.concatenate([y_u, np.full(len(ds.unlabelled_images), -1, np.int32)])
  return x_u, y_u


PSEUDO_LABEL_KEYS = ("indices", "labels")  # and optionally "targets": soft labels [n, num_classes]


def read_pseudo_labels(path: str, pool_size: int, num_classes: int):
  """(indices into the unlabelled pool, int labels, soft targets or None) of a pseudo-label file; one ConfigError
  line naming the file and the problem when it does not fit this run's unlabelled pool."""
  where = f"config.pseudo_labels={path!r}"
  if not os.path.isfile(path):
    raise ConfigError(f"{where}: no such file")
  try:
    with np.load(path) as f:
      arrays = {k: f[k] for k in f.files}
  except Exception as e:  # noqa: BLE001 (any unreadable file is the same problem for the user)
    raise ConfigError(f"{where}: not a readable .npz file ({type(e).__name__})") from None
  missing = [k for k in PSEUDO_LABEL_KEYS if k not in arrays]
  if missing:
    raise ConfigError(f"{where}: lacks the arrays {', '.join(missing)} (it needs indices and labels)")
  idx, labels, targets = arrays["indices"], arrays["labels"], arrays.get("targets")
  if idx.ndim != 1 or labels.shape != idx.shape or not np.issubdtype(idx.dtype, np.integer):
    raise ConfigError(f"{where}: indices and labels must be 1-D integer arrays of one length")
  if len(idx) and (idx.min() < 0 or idx.max() >= pool_size):
    raise ConfigError(
      f"{where}: indices must be in [0, {pool_size}) (this run's unlabelled pool); is it another run's?"
    )
  if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
    raise ConfigError(f"{where}: labels must be in [0, {num_classes})")
  if targets is not None and targets.shape != (len(idx), num_classes):
    raise ConfigError(f"{where}: targets must have shape ({len(idx)}, {num_classes}), got {targets.shape}")
  return idx.astype(np.int64), labels.astype(np.int32), None if targets is None else targets.astype(np.float32)


def labelled_pool(config, ds, labelled_idx, unlabelled_idx):
  """The labelled set a classifier trains on: (uint8 images, int labels, target distributions [n, C]).

  Targets are one-hot labels. With config.pseudo_labels (a .npz of `indices` into the unlabelled pool of
  `unlabelled_arrays`, their `labels` and optionally soft `targets`) those unlabelled images follow, with their
  pseudo-labels as labels and the soft targets (else one-hot pseudo-labels) as targets.
  """
  x, y = ds.train_images[labelled_idx], ds.train_labels[labelled_idx].astype(np.int32)
  eye = np.eye(ds.num_classes, dtype=np.float32)
  path = config.get("pseudo_labels")
  if not path:
    return x, y, eye[y]
  x_u, _ = unlabelled_arrays(ds, unlabelled_idx)
  idx, labels, targets = read_pseudo_labels(path, len(x_u), ds.num_classes)
  targets = eye[labels] if targets is None else targets
  return np.concatenate([x, x_u[idx]]), np.concatenate([y, labels]), np.concatenate([eye[y], targets])


def dtypes(config):
  """(activation dtype, parameter dtype) of config.dtype."""
  return models.dtypes(config.get("dtype", "float32"))


def input_dtype(config):
  """Images are augmented in float32 (float64 in the float64 equality tests); bfloat16 starts inside the model."""
  return jnp.float64 if config.get("dtype") == "float64" else jnp.float32


def encoder(config, **overrides):
  dtype, param_dtype = dtypes(config)
  kwargs = {
    "axis_name": parallel.AXIS,
    "dtype": dtype,
    "param_dtype": param_dtype,
    **dict(config.get("model_kwargs", {})),
    **overrides,
  }
  try:
    return models.get_encoder(config.model, **kwargs)
  except (ValueError, TypeError) as e:
    raise ConfigError(f"config.model={config.model!r} with model_kwargs {dict(config.model_kwargs)}: {e}") from None


def classifier(config, ds, **overrides):
  dtype, param_dtype = dtypes(config)
  return models.Classifier(
    encoder=encoder(config, **overrides), num_classes=ds.num_classes, dtype=dtype, param_dtype=param_dtype
  )


def to_float(images, dtype=jnp.float32):
  """uint8 images -> [0, 1] floats."""
  return images.astype(dtype) / 255.0


def normalizer(ds):
  mean, std = np.asarray(ds.mean), np.asarray(ds.std)
  return lambda x: (x - mean.astype(x.dtype)) / std.astype(x.dtype)


def forward(model, params, batch_stats, x, **kwargs):
  """The model in train mode with global BatchNorm: (outputs, new batch statistics)."""
  out, mutated = model.apply(
    {"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"], **kwargs
  )
  return out, mutated.get("batch_stats", {})


def init_fn(model, ds, dtype=jnp.float32):
  shape = (1,) + ds.train_images.shape[1:]
  return lambda key: model.init(key, jnp.zeros(shape, dtype), train=False)


def augmenters(config, ds):
  """(weak, strong) per-example augmentations of float images, configured by config.augment."""
  a = config.augment
  weak = functools.partial(augment.weak, allow_flip=ds.allow_flip, max_shift=a.weak_shift, noise=a.weak_noise)
  strong = functools.partial(
    augment.strong,
    allow_flip=ds.allow_flip,
    max_shift=a.strong_shift,
    num_ops=a.strong_ops,
    cutout=a.cutout,
    style=a.strong_style,
  )
  return weak, strong


def draw(key, n_total, pool_size):
  """Global-batch indices drawn uniformly with replacement, and per-example keys; this device's slice of both."""
  k_idx, k_aug = jax.random.split(key)
  idx = jax.random.randint(k_idx, (n_total,), 0, pool_size)
  return parallel.local_slice(idx), parallel.local_slice(jax.random.split(k_aug, n_total))


def draw_parts(key, parts):
  """Like `draw`, for a global batch made of parts (count, lo, hi) in order: count indices uniform in [lo, hi) each."""
  k_idx, k_aug = jax.random.split(key)
  keys = jax.random.split(k_idx, len(parts))
  idx = jnp.concatenate([jax.random.randint(k, (n,), lo, hi) for k, (n, lo, hi) in zip(keys, parts)])
  return parallel.local_slice(idx), parallel.local_slice(jax.random.split(k_aug, idx.shape[0]))


def draw_distinct(key, n_total, pool_size):
  """n_total distinct pool indices (a fresh permutation each step; with replacement only if the pool is smaller)
  and per-example keys, drawn identically on every device; returns this device's slice of both."""
  k_idx, k_aug = jax.random.split(key)
  if n_total > pool_size:
    idx = jax.random.randint(k_idx, (n_total,), 0, pool_size)
  else:
    idx = jax.random.permutation(k_idx, pool_size)[:n_total]
  return parallel.local_slice(idx), parallel.local_slice(jax.random.split(k_aug, n_total))


def eval_variables(state):
  """The variables a run is evaluated with: the EMA parameters when EMA is on, else the parameters."""
  return {"params": state.ema_params or state.params, "batch_stats": state.batch_stats}


def logits_fn(model, normalize, dtype=jnp.float32):
  """apply(variables, uint8 images) -> logits, inference mode (one function object per model: one compile)."""
  return lambda variables, x: model.apply(variables, normalize(to_float(x, dtype)), train=False)


def classifier_eval(model, ds, normalize, ema: bool, dtype=jnp.float32):
  """evaluate(...): test accuracy of the EMA model (if EMA is on) and of the raw parameters."""
  apply = logits_fn(model, normalize, dtype)

  def evaluate(state, mesh, workdir, final):
    del workdir, final
    raw = {"params": state.params, "batch_stats": state.batch_stats}
    out = {"test_accuracy_raw": train.classifier_accuracy(apply, raw, ds.test_images, ds.test_labels, mesh)}
    if ema:
      averaged = {"params": state.ema_params, "batch_stats": state.batch_stats}
      out["test_accuracy"] = train.classifier_accuracy(apply, averaged, ds.test_images, ds.test_labels, mesh)
    else:
      out["test_accuracy"] = out["test_accuracy_raw"]
    return out

  return evaluate


def classifier_task(config, ds, model, normalize, **fields) -> train.Task:
  """A train.Task for a method that trains `model` as a classifier: the init, evaluation (test accuracy, EMA when
  config.ema_decay is set), optimiser and results info every such method shares; `fields` gives the rest."""
  dtype = input_dtype(config)
  fields.setdefault("tx", optim.make(config))
  init = init_fn(model, ds, dtype)
  if config.get("init_from"):
    init = initialised_from(init, config.init_from)
  return train.Task(
    init=init,
    evaluate=classifier_eval(model, ds, normalize, ema=bool(config.get("ema_decay")), dtype=dtype),
    info={"num_classes": ds.num_classes, "model": config.model, **fields.pop("info", {})},
    **fields,
  )


@dataclasses.dataclass(frozen=True)
class SemiSetup:
  """What a classifier trained on labelled and unlabelled images starts from (semi_supervised)."""

  ds: data_lib.ArrayDataset
  arrays: dict  # x_l, y_l: the labelled set; x_u, y_u: the unlabelled pool and its hidden labels (unlabelled_arrays)
  model: models.Classifier
  normalize: Callable
  weak: Callable  # per-example augmentations of float images (augmenters)
  strong: Callable
  view: Callable | None  # the one of weak / strong that config.view names; None where the config has no view
  b: int  # labelled examples per step (config.batch_size)
  mu: int | None  # unlabelled examples per labelled one (config.mu); None where the config has no mu
  dtype: Any  # what images are augmented in (input_dtype)

  def sampler(self, views, indices=False):
    """labelled_unlabelled_sampler with this b, mu, weak labelled view and dtype; `views` names the unlabelled ones."""
    return labelled_unlabelled_sampler(self.b, self.mu, self.weak, views, self.dtype, indices)

  def task(self, config, **fields) -> train.Task:
    """classifier_task of this model, normalisation and arrays; `fields` gives the rest."""
    return classifier_task(config, self.ds, self.model, self.normalize, arrays=self.arrays, **fields)


def semi_supervised(config, pseudo_labels: bool = False) -> SemiSetup:
  """The data split, arrays, classifier, normalisation and augmentations of a semi-supervised classifier method.

  With pseudo_labels the labelled set is labelled_pool's: it also holds the images of config.pseudo_labels, if set.
  """
  ds, labelled, unlabelled = load_split(config)
  x_u, y_u = unlabelled_arrays(ds, unlabelled)
  if pseudo_labels:
    x_l, y_l, _ = labelled_pool(config, ds, labelled, unlabelled)
  else:
    x_l, y_l = ds.train_images[labelled], ds.train_labels[labelled]
  model = classifier(config, ds)
  normalize = normalizer(ds)
  weak, strong = augmenters(config, ds)
  view = {"weak": weak, "strong": strong}[config.view] if "view" in config else None
  return SemiSetup(
    ds=ds,
    arrays={"x_l": x_l, "y_l": y_l, "x_u": x_u, "y_u": y_u},
    model=model,
    normalize=normalize,
    weak=weak,
    strong=strong,
    view=view,
    b=config.batch_size,
    mu=config.get("mu"),
    dtype=input_dtype(config),
  )


def hidden_label_accuracy(pseudo, y_hidden, weight=None):
  """Accuracy of pseudo-labels against the hidden labels (-1 = unknown, ignored), optionally weighted (a mask)."""
  known = (y_hidden >= 0).astype(jnp.float32)
  w = known if weight is None else known * weight
  # NaN when no label is known (unlabelled-only images), rather than a misleading 0.
  return jnp.where(jnp.sum(known) > 0, jnp.sum((pseudo == y_hidden) * w) / jnp.maximum(jnp.sum(w), 1.0), jnp.nan)


def initialised_from(init, workdir: str):
  """init(key) that returns the evaluated variables (eval_variables) of the finished run in `workdir` instead of
  fresh ones: training continues from that run (a self-training round continued rather than from scratch)."""
  _, _, state = train.load_run(workdir)
  loaded = jax.device_get(eval_variables(state))
  fresh = jax.eval_shape(init, jax.random.key(0, impl="rbg"))
  shapes = lambda tree: jax.tree.map(lambda x: tuple(x.shape), tree)
  mine = {k: fresh.get(k, {}) for k in loaded}
  if jax.tree.structure(shapes(mine)) != jax.tree.structure(shapes(loaded)) or shapes(mine) != shapes(loaded):
    raise ConfigError(f"config.init_from={workdir!r}: that run's model differs from config.model's; use the same model")

  def init_loaded(key):
    variables = dict(init(key))
    for name, tree in loaded.items():
      variables[name] = jax.tree.map(lambda v, f: jnp.asarray(v, f.dtype), tree, variables[name])
    return variables

  return init_loaded


RAMPUPS = ("linear", "sigmoid")
# The knobs of rampup(step, config.rampup_steps, config.rampup_shape).
RAMPUP_CHECKS = {"rampup_steps": checks.NON_NEGATIVE_INT, "rampup_shape": checks.one_of(*RAMPUPS)}


def rampup(step, rampup_steps: int, shape: str = "linear"):
  """Weight ramp-up of an unlabelled loss over the first `rampup_steps` steps, t = min(step / rampup_steps, 1):
  'linear' t (USB), 'sigmoid' exp(−5(1 − t)²) (Laine & Aila, 2017; Tarvainen & Valpola, 2017); 1 when 0 steps."""
  if shape not in RAMPUPS:
    raise ValueError(f"unknown ramp-up {shape!r}; choose one of {', '.join(RAMPUPS)}")
  if rampup_steps <= 0:
    return jnp.ones((), jnp.result_type(float))
  t = jnp.clip(jnp.asarray(step, jnp.result_type(float)) / rampup_steps, 0.0, 1.0)
  return t if shape == "linear" else jnp.exp(-5.0 * jnp.square(1.0 - t))


# The extra entropy-minimisation term any classifier method may add (config.entropy_weight, 0 = off).
ENTROPY_CHECKS = {"entropy_weight": checks.NON_NEGATIVE}


def entropy_term(config, logits, scale=1.0):
  """config.entropy_weight · scale · mean_b H(softmax(logits_b)) (Grandvalet & Bengio, 2005) over this device's
  rows, and {"entropy": mean H} to log; (0, {}) when the weight is 0, so that the term costs nothing when off."""
  weight = float(config.get("entropy_weight", 0.0))
  if not weight:
    return 0.0, {}
  h = jnp.mean(losses.entropy(logits))
  return weight * scale * h, {"entropy": h}


def unlabelled_views(fns, keys, images, dtype):
  """One augmented view per function in `fns` of each uint8 image, with independent per-example keys."""
  x = to_float(images, dtype)
  view_keys = jax.vmap(lambda k: jax.random.split(k, len(fns)), out_axes=1)(keys)  # [len(fns), b]
  return [jax.vmap(fn)(k, x) for fn, k in zip(fns, view_keys)]


def same_view_sampler(b, mu, view, dtype):
  """sample(data, key): B labelled and μB unlabelled images (this device's rows of the global batch), every one
  through the same `view` with its own key, with their labels and hidden labels."""

  def sample(data, key):
    k_l, k_u = jax.random.split(key)
    il, keys_l = draw(k_l, b, data["x_l"].shape[0])
    iu, keys_u = draw(k_u, mu * b, data["x_u"].shape[0])
    return {
      "x_l": jax.vmap(view)(keys_l, to_float(data["x_l"][il], dtype)),
      "y_l": data["y_l"][il],
      "u": jax.vmap(view)(keys_u, to_float(data["x_u"][iu], dtype)),
      "y_u": data["y_u"][iu],
    }

  return sample


def labelled_unlabelled_sampler(b, mu, weak, views, dtype, indices=False):
  """sample(data, key) of the classifier methods: B weakly viewed labelled examples ("x_l", "y_l"), μB unlabelled
  examples with one view per entry of `views` ({batch key: augmentation}, independent keys: unlabelled_views), their
  hidden labels ("y_u") and, with `indices`, their pool indices ("idx_u"); this device's rows of the global batch."""

  def sample(data, key):
    k_l, k_u = jax.random.split(key)
    il, keys_l = draw(k_l, b, data["x_l"].shape[0])
    iu, keys_u = draw(k_u, mu * b, data["x_u"].shape[0])
    u = unlabelled_views(tuple(views.values()), keys_u, data["x_u"][iu], dtype)
    batch = {
      "x_l": jax.vmap(weak)(keys_l, to_float(data["x_l"][il], dtype)),
      "y_l": data["y_l"][il],
      **dict(zip(views, u)),
      "y_u": data["y_u"][iu],
    }
    return {**batch, "idx_u": iu} if indices else batch

  return sample


def joint_logits(model, params, batch_stats, normalize, parts):
  """One train-mode forward over the concatenated `parts` (image batches; BatchNorm statistics over all of them):
  ([the logits of each part], new batch statistics)."""
  logits, batch_stats = forward(model, params, batch_stats, normalize(jnp.concatenate(parts)))
  return jnp.split(logits, list(itertools.accumulate(x.shape[0] for x in parts[:-1]))), batch_stats
