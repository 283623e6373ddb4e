r"""VICReg on CIFAR-10, solo-learn's vicreg.yaml: 92.07% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/vicreg_cifar10.py --workdir /tmp/vicreg_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base


def get_config():
  # vicreg.yaml's own views: crops from 0.2 of the area, solarisation p=0.1 on both views, no blur.
  views = config_base.solo_learn_views("asymmetric", crop_area=(0.2, 1.0), solarize_prob=(0.1, 0.1))
  config = config_base.solo_learn_cifar10("vicreg", views, lr=0.3, weight_decay=1e-4)
  config.sim_weight = 25.0
  config.var_weight = 25.0
  config.cov_weight = 1.0
  config.proj_dim = 2048  # 3 layers
  config.proj_hidden_dim = 2048
  return config
