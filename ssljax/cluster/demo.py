"""The "Show it" job: clustering digits and colour-quantising an image.

k-means and a Gaussian mixture cluster scikit-learn's 8x8 digits; NMI and
ARI against the true labels say how well the clusters recover the digits
(unsupervised: the labels are used only to score). k-means then picks a
palette of `quantize_colors` colours for a photo (pixel clustering, the
lecture's segmentation example) and every pixel is replaced by its centre.
"""

import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import datasets, decomposition, metrics  # noqa: E402

from ssljax.cluster import estimators, kmeans  # noqa: E402
from ssljax.errors import ConfigError  # noqa: E402


def _scores(y, labels):
  return (float(metrics.normalized_mutual_info_score(y, labels)), float(metrics.adjusted_rand_score(y, labels)))


def _save(fig, workdir, name):
  path = os.path.join(workdir, name)
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)
  return path


def _image_grid(images, title):
  n = len(images)
  fig, axes = plt.subplots(1, n, figsize=(n, 1.3))
  for ax, im in zip(np.atleast_1d(axes), images):
    ax.imshow(im.reshape(8, 8), cmap='gray_r')
    ax.axis('off')
  fig.suptitle(title)
  return fig


def quantize(image, n_colors, n_sample, seed):
  """Returns (quantised image, palette): k-means on a sample of pixels."""
  pixels = image.reshape(-1, 3).astype(np.float32) / 255.0
  rng = np.random.RandomState(seed)
  sample = pixels[rng.choice(len(pixels), min(n_sample, len(pixels)), replace=False)]
  km = estimators.KMeans(n_colors, n_init=1, random_state=seed).fit(sample)
  labels, _ = kmeans.predict(pixels, km.cluster_centers_)
  return km.cluster_centers_[labels].reshape(image.shape), km.cluster_centers_


def run(config, workdir):
  if config.dataset != 'digits':
    raise ConfigError(f"cluster_demo supports dataset='digits', got {config.dataset!r}")
  os.makedirs(workdir, exist_ok=True)
  x, y = datasets.load_digits(return_X_y=True)
  x = (x / 16.0).astype(np.float32)
  k, seed = config.n_clusters, config.seed
  figures, results = {}, {}

  km = estimators.KMeans(k, n_init=config.kmeans_n_init, random_state=seed).fit(x)
  results['kmeans_nmi'], results['kmeans_ari'] = _scores(y, km.labels_)
  results['kmeans_inertia'] = km.inertia_
  figures['kmeans_centers'] = _save(_image_grid(km.cluster_centers_, 'k-means centres'), workdir, 'kmeans_centers.png')

  z = decomposition.PCA(config.gmm_pca_dim, random_state=seed).fit(x)
  xz = z.transform(x).astype(np.float32)
  gm = estimators.GaussianMixture(
    k,
    covariance_type=config.gmm_covariance_type,
    n_init=config.gmm_n_init,
    reg_covar=config.gmm_reg_covar,
    random_state=seed,
  ).fit(xz)
  results['gmm_nmi'], results['gmm_ari'] = _scores(y, gm.predict(xz))
  results['gmm_bic'] = float(gm.bic(xz))
  figures['gmm_means'] = _save(
    _image_grid(z.inverse_transform(gm.means_), 'GMM means (PCA space, mapped back)'), workdir, 'gmm_means.png'
  )

  ks = list(config.elbow_ks)
  curve = kmeans.inertia_curve(x, ks)
  results['elbow'] = {int(a): float(b) for a, b in zip(ks, curve)}
  fig, ax = plt.subplots(figsize=(5, 3.5))
  ax.plot(ks, curve, 'o-')
  ax.set_xlabel('k')
  ax.set_ylabel('inertia')
  ax.set_title('Elbow: k-means inertia on digits')
  figures['elbow'] = _save(fig, workdir, 'elbow.png')

  image = datasets.load_sample_image(config.image)
  q, palette = quantize(image, config.quantize_colors, config.quantize_sample, seed)
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
  axes[0].imshow(image)
  axes[0].set_title('original')
  axes[1].imshow(np.clip(q, 0, 1))
  axes[1].set_title(f'k-means, {config.quantize_colors} colours')
  for ax in axes:
    ax.axis('off')
  figures['quantized'] = _save(fig, workdir, 'quantized.png')
  plt.imsave(os.path.join(workdir, 'quantized_only.png'), np.clip(q, 0, 1))
  results['quantize_mse'] = float(np.mean((q - image / 255.0) ** 2))

  print(
    f"digits: k-means NMI {results['kmeans_nmi']:.3f} ARI {results['kmeans_ari']:.3f}; "
    f"GMM NMI {results['gmm_nmi']:.3f} ARI {results['gmm_ari']:.3f}"
  )
  print(
    f"quantised {config.image} to {config.quantize_colors} colours, "
    f"MSE {results['quantize_mse']:.5f}; figures in {workdir}"
  )
  results['figures'] = figures
  return results
