"""Pieces the self-supervised methods (SimCLR, RotNet) share: the encoder checks, feature extraction and the
representation evaluation that becomes their `Task.evaluate`.

The evaluation (ssljax.evaluate.representation_report) runs on frozen encoder features of the whole train and test
sets, extracted in inference mode (BatchNorm running statistics) and sharded over the mesh:

  linear_probe_accuracy      logistic regression (scikit-learn, L2, C=1) fit on the `num_labels` labelled examples
                             (data.split_labelled: the same split and label draw as FixMatch), features standardised
                             with the mean/std of ALL training features (labelled or not), scored on test.
  linear_probe_accuracy_all  the same probe fit on every training label.
  knn_accuracy               distance-weighted cosine kNN (k=20, τ=0.07) with every training label, on test.
  kmeans_nmi                 k-means (K = number of classes) on test features against the test labels, mean of 3 seeds.
  tsne.png                   2-D t-SNE (scikit-learn) of the test features coloured by class; final evaluation only.

`launch.py --config ... --workdir DIR --eval_only` re-runs it on the latest checkpoint of any run.
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from ssljax import evaluate as evaluate_lib
from ssljax import parallel
from ssljax.errors import ConfigError
from ssljax.methods import common


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
    raise ConfigError(
      f"encoder {type(encoder).__name__} cannot be applied to {ds.name} images "
      f"{tuple(x.shape[1:])}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
    ) from None
  shape = getattr(out, "shape", None)
  if shape is None or len(shape) != 2 or shape[0] != batch:
    got = shape if shape is not None else type(out).__name__
    raise ConfigError(
      f"encoder {type(encoder).__name__} has no feature output: it must map images [B, H, W, C] to "
      f"features [B, F], but returns {got} for B={batch}"
    )
  return int(shape[1])


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


def representation_eval(features: Callable, ds, labelled_idx, variables_of: Callable, extra: Callable | None = None):
  """Task.evaluate for a self-supervised method.

  features(variables, uint8 images) -> [B, F]: per-device, inference mode (a stable function object, so the
    sharded extraction compiles once per run).
  variables_of(state) -> the variables `features` takes.
  extra(state, mesh, train_feats, test_feats) -> dict of more results (e.g. RotNet's rotation accuracy), or None.
  The t-SNE picture is drawn only in the final evaluation.
  """

  def evaluate(state, mesh, workdir, final):
    variables = variables_of(state)
    train_feats = parallel.batched_apply(features, variables, ds.train_images, mesh)
    test_feats = parallel.batched_apply(features, variables, ds.test_images, mesh)
    out = evaluate_lib.representation_report(
      train_feats, ds.train_labels, test_feats, ds.test_labels, labelled_idx, ds.num_classes, workdir if final else None
    )
    if extra is not None:
      out.update(extra(state, mesh))
    return out

  return evaluate


def linear_probe_only(features, variables, ds, labelled_idx, mesh) -> float:
  """linear_probe_accuracy (num_labels labels, standardised features) of `features` under `variables`."""
  train_feats = parallel.batched_apply(features, variables, ds.train_images, mesh)
  test_feats = parallel.batched_apply(features, variables, ds.test_images, mesh)
  return evaluate_lib.linear_probe(train_feats, ds.train_labels, test_feats, ds.test_labels, labelled_idx=labelled_idx)


def draw_distinct(key, n_total, pool_size):
  """n_total distinct pool indices (a fresh permutation each step; with replacement only if the pool is smaller)
  and per-example keys, drawn identically on every device; returns this device's slice of both."""
  k_idx, k_aug = jax.random.split(key)
  if n_total > pool_size:
    idx = jax.random.randint(k_idx, (n_total,), 0, pool_size)
  else:
    idx = jax.random.permutation(k_idx, pool_size)[:n_total]
  return parallel.local_slice(idx), parallel.local_slice(jax.random.split(k_aug, n_total))


def image_features(apply: Callable, ds):
  """Wraps apply(variables, normalised float images) as features(variables, uint8 images)."""
  normalize = common.normalizer(ds)
  return lambda variables, images: apply(variables, normalize(common.to_float(images)))
