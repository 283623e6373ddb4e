"""Representation evaluation on feature arrays: linear probe, kNN, k-means NMI, t-SNE.

Pure numpy / scikit-learn / JAX functions of (features, labels); no dependency
on the training loop. Features are [N, D] float arrays, labels [N] ints.
"""

from __future__ import annotations

import contextlib
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import threadpoolctl
from sklearn import linear_model, manifold, metrics

try:  # The project's JAX k-means (sklearn-compatible API), when present.
  from ssljax.cluster import KMeans
except ImportError:  # Not written yet / unavailable: scikit-learn's.
  from sklearn.cluster import KMeans


# Below this many feature values, run scikit-learn single-threaded: on small
# problems BLAS/OpenMP threads cost far more than they gain (measured on a
# busy 2-core VM, digits 1437x64: lbfgs probe 6.7 -> 0.09 CPU-s, Barnes-Hut
# t-SNE of 360 points 24 -> 2.5 CPU-s, with 1 thread instead of 2).
SMALL_PROBLEM_SIZE = 1 << 22


def _threads_for(x):
  """Context limiting BLAS/OpenMP to one thread when x is a small problem."""
  if np.size(x) <= SMALL_PROBLEM_SIZE:
    return threadpoolctl.threadpool_limits(limits=1)
  return contextlib.nullcontext()


def standardize(x, mean, std):
  """(x − μ) / σ, with σ = 1 for (near-)constant features."""
  std = np.where(std > 1e-8, std, 1.0)
  return (np.asarray(x, np.float64) - mean) / std


def linear_probe(
  train_feats, train_labels, test_feats, test_labels, *, labelled_idx=None, standardize_with=None, C=1.0
):
  """Accuracy of multinomial logistic regression on frozen features.

  Probe: scikit-learn `LogisticRegression` (multinomial softmax, L2 penalty,
  lbfgs, C=1.0, max_iter=1000) fit on `train_feats[labelled_idx]` (all of
  train when None), scored on the test set. C=1.0 is scikit-learn's default
  and reproduces the published raw-pixel digits baselines; on raw digits pixels with
  4 labels/class, C from 0.1 to 100 moves the probe by < 3 points.

  Standardisation: features are standardised with the mean/std of ALL
  training features (labelled and unlabelled; the unlabelled ones are free in
  the semi-supervised setting), which is worth several points on learned
  features. `standardize_with=None` uses `train_feats`; an array uses that
  array's statistics; `False` probes the raw features. On raw digits pixels
  (a few near-constant border pixels) the unstandardised probe is better with
  40 labels (83.3% vs 80.9%) and equal with all labels (96.7%).

  Returns:
    Test accuracy in [0, 1].
  """
  train_feats = np.asarray(train_feats)
  test_feats = np.asarray(test_feats)
  train_labels = np.asarray(train_labels)
  if standardize_with is not False:
    ref = train_feats if standardize_with is None else np.asarray(standardize_with)
    ref = ref.astype(np.float64)
    mean, std = ref.mean(0), ref.std(0)
    train_feats = standardize(train_feats, mean, std)
    test_feats = standardize(test_feats, mean, std)
  if labelled_idx is not None:
    labelled_idx = np.asarray(labelled_idx)
    train_feats, train_labels = (train_feats[labelled_idx], train_labels[labelled_idx])
  clf = linear_model.LogisticRegression(C=C, max_iter=1000)
  with _threads_for(train_feats):
    clf.fit(train_feats, train_labels)
    return float(clf.score(test_feats, np.asarray(test_labels)))


@functools.partial(jax.jit, static_argnames=("k", "num_classes"))
def _knn_votes(queries, bank, bank_labels, k, num_classes, temperature):
  """votes_qc = Σ_{i ∈ topk(q)} exp((s_qi − s_q,max)/τ) [y_i = c], s = cos."""
  sims = queries @ bank.T  # [q, n]
  top_sims, top_idx = jax.lax.top_k(sims, k)
  weights = jnp.exp((top_sims - top_sims[:, :1]) / temperature)
  onehot = jax.nn.one_hot(bank_labels[top_idx], num_classes, dtype=weights.dtype)
  return jnp.einsum("qk,qkc->qc", weights, onehot)


def _unit_rows(x):
  x = np.asarray(x, np.float32)
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def knn_accuracy(train_feats, train_labels, test_feats, test_labels, k=20, temperature=0.07, chunk_size=1024):
  """Weighted cosine kNN: ŷ = argmax_c Σ_{i ∈ N_k(x)} exp(cos(x, x_i)/τ) [y_i = c].

  The vote weighting of Wu et al. 2018 (InstDisc), used by SimCLR-style
  kNN monitors: τ = 0.07, k = 20. Similarities are a JAX matmul over query
  chunks of `chunk_size` (last chunk padded, one compile) against the whole
  L2-normalised training bank, then `lax.top_k`.

  Returns:
    Test accuracy in [0, 1].
  """
  if not temperature > 0:
    raise ValueError(f"knn_accuracy: temperature must be > 0, got {temperature}")
  bank = _unit_rows(train_feats)
  queries = _unit_rows(test_feats)
  train_labels = np.asarray(train_labels).astype(np.int32)
  test_labels = np.asarray(test_labels)
  k = min(int(k), len(bank))
  num_classes = int(max(train_labels.max(), test_labels.max())) + 1
  chunk = min(chunk_size, len(queries))
  bank, bank_labels = jnp.asarray(bank), jnp.asarray(train_labels)
  preds = []
  for start in range(0, len(queries), chunk):
    q = queries[start : start + chunk]
    m = len(q)
    if m < chunk:
      q = np.concatenate([q, np.zeros((chunk - m, q.shape[1]), q.dtype)])
    votes = _knn_votes(jnp.asarray(q), bank, bank_labels, k, num_classes, temperature)
    preds.append(np.asarray(jnp.argmax(votes, axis=1))[:m])
  return float(np.mean(np.concatenate(preds) == test_labels))


def _fit_predict(km, x):
  if hasattr(km, "fit_predict"):
    return np.asarray(km.fit_predict(x))
  return np.asarray(km.fit(x).labels_)


def kmeans_nmi(test_feats, test_labels, num_classes, seeds=(0, 1, 2), n_init=10):
  """Mean over seeds of NMI(y, k-means(x; K = num_classes)), arithmetic NMI.

  k-means with n_init=10 restarts per seed (the best inertia is kept), on the
  features as given (no normalisation); NMI is scikit-learn's
  `normalized_mutual_info_score`.
  """
  x = np.asarray(test_feats, np.float32)
  scores = []
  for seed in seeds:
    km = KMeans(n_clusters=num_classes, n_init=n_init, random_state=seed)
    with _threads_for(x):
      pred = _fit_predict(km, x)
    scores.append(metrics.normalized_mutual_info_score(np.asarray(test_labels), pred))
  return float(np.mean(scores))


def tsne_plot(feats, labels, path, title="t-SNE of representations", perplexity=30.0, seed=0):
  """Saves a PNG of the 2-D t-SNE (van der Maaten & Hinton 2008) coloured by class.

  scikit-learn's `TSNE` (Barnes-Hut, init='pca', fixed random_state); a few
  seconds for ~400 points. Drawn with matplotlib's Agg canvas directly (no
  pyplot, no global backend change). Small inputs run single-threaded (see
  SMALL_PROBLEM_SIZE). Returns the [N, 2] embedding.
  """
  import matplotlib
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  feats = np.asarray(feats, np.float32)
  labels = np.asarray(labels)
  perplexity = min(perplexity, max(1.0, (len(feats) - 1) / 3))
  with _threads_for(feats):
    emb = manifold.TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(feats)

  fig = Figure(figsize=(6, 5), dpi=100)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  classes = np.unique(labels)
  if len(classes) <= 20:
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, c in enumerate(classes):
      sel = labels == c
      ax.scatter(emb[sel, 0], emb[sel, 1], s=8, color=cmap(i), label=str(c))
    ax.legend(title="class", fontsize=7, markerscale=1.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
  else:
    sc = ax.scatter(emb[:, 0], emb[:, 1], s=8, c=labels, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="class")
  ax.set_title(title)
  ax.set_xticks([])
  ax.set_yticks([])
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, format="png")
  return emb


def representation_report(train_feats, train_labels, test_feats, test_labels, labelled_idx, num_classes, workdir=None):
  """Probe (labelled subset and all labels), kNN (k=20), k-means NMI, t-SNE.

  Returns a dict of floats: linear_probe_accuracy (fit on labelled_idx),
  linear_probe_accuracy_all, knn_accuracy, kmeans_nmi (test set). Writes
  `workdir/tsne.png` (test features) when workdir is given.
  """
  report = {
    "linear_probe_accuracy": linear_probe(
      train_feats, train_labels, test_feats, test_labels, labelled_idx=labelled_idx
    ),
    "linear_probe_accuracy_all": linear_probe(train_feats, train_labels, test_feats, test_labels),
    "knn_accuracy": knn_accuracy(train_feats, train_labels, test_feats, test_labels, k=20),
    "kmeans_nmi": kmeans_nmi(test_feats, test_labels, num_classes),
  }
  if workdir is not None:
    os.makedirs(workdir, exist_ok=True)
    tsne_plot(test_feats, test_labels, os.path.join(workdir, "tsne.png"))
  return report
