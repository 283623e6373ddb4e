r"""k-means and GMM on scikit-learn's digits; k-means colour quantisation of an image.

  python launch.py --config configs/cluster_digits.py --workdir /tmp/cluster_digits

Prints NMI / ARI of the clusters against the true digit labels and writes PNG
pictures (centres, elbow curve, GMM means, quantised image) into the workdir.
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.method = 'cluster_demo'
  config.dataset = 'digits'
  config.seed = 0
  config.n_clusters = 10
  config.kmeans_n_init = 10
  config.gmm_covariance_type = 'full'
  config.gmm_pca_dim = 16  # full covariances on 64 raw pixels are degenerate
  config.gmm_n_init = 3
  config.gmm_reg_covar = 1e-3
  config.elbow_ks = list(range(2, 21))
  config.image = 'china.jpg'  # ships with scikit-learn
  config.quantize_colors = 16
  config.quantize_sample = 20000  # pixels used to fit the palette
  return config
