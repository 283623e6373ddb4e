"""Pieces the methods share: data split, model, precision, normalisation, augmentation, the train-mode forward,
global-batch sampling and the classifier evaluation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, models, optim, parallel, train
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


def draw_distinct(key, n_total, pool_size):
  """n_total distinct pool indices (a fresh permutation each step; with replacement only if the pool is smaller)
  and per-example keys, drawn identically on every device; returns this device's slice of both."""
  k_idx, k_aug = jax.random.split(key)
  if n_total > pool_size:
    idx = jax.random.randint(k_idx, (n_total,), 0, pool_size)
  else:
    idx = jax.random.permutation(k_idx, pool_size)[:n_total]
  return parallel.local_slice(idx), parallel.local_slice(jax.random.split(k_aug, n_total))


def classifier_eval(model, ds, normalize, ema: bool, dtype=jnp.float32):
  """evaluate(...): test accuracy of the EMA model (if EMA is on) and of the raw parameters."""

  def apply(variables, x):
    return model.apply(variables, normalize(to_float(x, dtype)), train=False)

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
  return train.Task(
    init=init_fn(model, ds, dtype),
    evaluate=classifier_eval(model, ds, normalize, ema=bool(config.get("ema_decay")), dtype=dtype),
    info={"num_classes": ds.num_classes, "model": config.model, **fields.pop("info", {})},
    **fields,
  )


def hidden_label_accuracy(pseudo, y_hidden, weight=None):
  """Accuracy of pseudo-labels against the hidden labels (-1 = unknown, ignored), optionally weighted (a mask)."""
  known = (y_hidden >= 0).astype(jnp.float32)
  w = known if weight is None else known * weight
  # NaN when no label is known (unlabelled-only images), rather than a misleading 0.
  return jnp.where(jnp.sum(known) > 0, jnp.sum((pseudo == y_hidden) * w) / jnp.maximum(jnp.sum(w), 1.0), jnp.nan)
