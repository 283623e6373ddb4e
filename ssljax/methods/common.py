"""Pieces the classification methods share: data split, model, normalisation, augmentation, evaluation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ssljax import augment, models, optim, parallel, train
from ssljax import data as data_lib
from ssljax.errors import ConfigError


def load_split(config):
  """The dataset, and the balanced labelled subset drawn by config.seed (the rest of train is unlabelled)."""
  ds = data_lib.load(
    config.dataset,
    config.get("data_dir") or None,
    image_size=config.get("image_size") or None,
    allow_flip=config.get("allow_flip"),
    on_bad_image=config.get("on_bad_image", "fail"),
  )
  labelled, unlabelled = data_lib.split_labelled(ds.train_labels, config.num_labels, ds.num_classes, config.seed)
  return ds, labelled, unlabelled


def unlabelled_arrays(ds, unlabelled_idx):
  """Unlabelled images with their hidden labels (-1 where unknown), for pseudo-label diagnostics only."""
  x_u, y_u = ds.train_images[unlabelled_idx], ds.train_labels[unlabelled_idx].astype(np.int32)
  if ds.unlabelled_images is not None:
    x_u = np.concatenate([x_u, ds.unlabelled_images])
    y_u = np.concatenate([y_u, np.full(len(ds.unlabelled_images), -1, np.int32)])
  return x_u, y_u


def encoder(config):
  try:
    return models.get_encoder(config.model, axis_name=parallel.AXIS, **dict(config.get("model_kwargs", {})))
  except ValueError as e:
    raise ConfigError(str(e)) from None


def classifier(config, ds):
  return models.Classifier(encoder=encoder(config), num_classes=ds.num_classes)


def to_float(images):
  return images.astype(jnp.float32) / 255.0


def normalizer(ds):
  mean, std = jnp.asarray(ds.mean, jnp.float32), jnp.asarray(ds.std, jnp.float32)
  return lambda x: (x - mean) / std


def init_fn(model, ds):
  shape = (1,) + ds.train_images.shape[1:]
  return lambda key: model.init(key, jnp.zeros(shape, jnp.float32), train=False)


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


def classifier_eval(model, ds, normalize, ema: bool):
  """evaluate(...): test accuracy of the EMA model (if EMA is on) and of the raw parameters."""

  def apply(variables, x):
    return model.apply(variables, normalize(to_float(x)), train=False)

  def evaluate(state, mesh, workdir, final):
    del workdir, final
    raw = {"params": state.params, "batch_stats": state.batch_stats}
    out = {"test_accuracy_raw": train.classifier_accuracy(apply, raw, ds.test_images, ds.test_labels, mesh)}
    if ema:
      out["test_accuracy"] = train.classifier_accuracy(
        apply, {"params": state.ema_params, "batch_stats": state.batch_stats}, ds.test_images, ds.test_labels, mesh
      )
    else:
      out["test_accuracy"] = out["test_accuracy_raw"]
    return out

  return evaluate


def classifier_task(config, ds, model, normalize, **fields) -> train.Task:
  """A train.Task for a method that trains `model` as a classifier: the init, evaluation (test accuracy, EMA when
  config.ema_decay is set), optimiser and results info every such method shares; `fields` gives the rest."""
  return train.Task(
    init=init_fn(model, ds),
    evaluate=classifier_eval(model, ds, normalize, ema=bool(config.get("ema_decay"))),
    tx=optim.make(config),
    info={"num_classes": ds.num_classes, "model": config.model},
    **fields,
  )
