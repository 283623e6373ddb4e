r"""BYOL on CIFAR-10, solo-learn's byol.yaml: 92.58% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/byol_cifar10.py --workdir /tmp/byol_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base


def get_config():
  config = config_base.solo_learn_cifar10("byol", config_base.solo_learn_views("asymmetric"), lr=1.0, weight_decay=1e-5)
  config.base_tau = 0.99  # τ to final_tau on the cosine schedule
  config.final_tau = 1.0
  config.proj_dim = 256
  config.proj_hidden_dim = 4096  # BatchNorm between the projector's and predictor's layers
  config.pred_hidden_dim = 4096
  return config
