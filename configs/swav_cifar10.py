r"""SwAV on CIFAR-10, solo-learn's swav.yaml: 89.17% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/swav_cifar10.py --workdir /tmp/swav_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base

STEPS_PER_EPOCH = config_base.SOLO_LEARN_STEPS_PER_EPOCH


def get_config():
  config = config_base.solo_learn_cifar10("swav", config_base.solo_learn_views("symmetric"), lr=0.6, weight_decay=1e-6)
  config.temperature = 0.1
  config.sinkhorn_epsilon = 0.05
  config.sinkhorn_iterations = 3
  config.num_prototypes = 3000
  config.freeze_prototypes_steps = 2 * STEPS_PER_EPOCH
  config.queue_size = 3840  # embeddings per view
  config.queue_start_step = 50 * STEPS_PER_EPOCH
  config.proj_dim = 128
  config.proj_hidden_dim = 2048
  return config
