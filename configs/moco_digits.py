r"""MoCo v2+ on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/moco_digits.py --workdir /tmp/moco_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("moco", optimizer="sgd", lr=0.3, nesterov=False, weight_decay=0.0001)
  config.temperature = 0.2
  config.queue_size = 4096  # a multiple of batch_size
  config.base_tau = 0.99
  config.final_tau = 0.999
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  return config
