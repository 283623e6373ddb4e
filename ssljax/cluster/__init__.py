"""Clustering and graph-based semi-supervised learning in JAX.

Functional cores: `kmeans`, `gmm`, `label_propagation` (sharded over a 1-D
device mesh where it matters); scikit-learn-compatible estimators on top.
"""

from ssljax.cluster import gmm, kmeans, label_propagation
from ssljax.cluster.estimators import GaussianMixture, KMeans, LabelPropagation, LabelSpreading, MiniBatchKMeans

__all__ = [
  'GaussianMixture',
  'KMeans',
  'LabelPropagation',
  'LabelSpreading',
  'MiniBatchKMeans',
  'gmm',
  'kmeans',
  'label_propagation',
]
