r"""MoCo v2+ on CIFAR-10, solo-learn's mocov2plus.yaml: 92.94% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/moco_cifar10.py --workdir /tmp/moco_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base


def get_config():
  views = config_base.solo_learn_views("symmetric_weak")
  config = config_base.solo_learn_cifar10("moco", views, optimizer="sgd", lr=0.3, weight_decay=1e-4)
  config.temperature = 0.2
  config.queue_size = 32768  # keys per view
  config.base_tau = 0.99  # key-encoder momentum to final_tau on the cosine schedule
  config.final_tau = 0.999
  config.proj_dim = 256
  config.proj_hidden_dim = 2048  # no BatchNorm in the projector
  return config
