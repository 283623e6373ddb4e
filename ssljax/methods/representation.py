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
):
  """Task.evaluate for a self-supervised method.

  features(variables, uint8 images) -> [B, F] (features_fn); init(key) -> the model's initial variables (for the
  random-init probe, drawn as train.init_state draws them); variables_of(state) -> the variables `features` takes
  (default: params and batch_stats); extra(state, mesh) -> dict of more results (e.g. RotNet's rotation accuracy).
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
    if extra is not None:
      out.update(extra(state, mesh))
    return out

  return evaluate


def linear_probe_only(features, variables, ds, labelled_idx, mesh) -> float:
  """linear_probe_accuracy (num_labels labels, standardised features) of `features` under `variables`."""
  train_feats = parallel.batched_apply(features, variables, ds.train_images, mesh)
  test_feats = parallel.batched_apply(features, variables, ds.test_images, mesh)
  return evaluate_lib.linear_probe(train_feats, ds.train_labels, test_feats, ds.test_labels, labelled_idx=labelled_idx)
