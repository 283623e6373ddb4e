r"""SwAV on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/swav_digits.py --workdir /tmp/swav_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("swav", lr=0.6, weight_decay=1e-06)
  config.temperature = 0.1
  config.sinkhorn_epsilon = 0.05
  config.sinkhorn_iterations = 3
  config.num_prototypes = 100
  config.freeze_prototypes_steps = 50  # about 9 epochs of the 1,437 train images
  config.queue_size = 0  # off: a batch of 256 is ample for 100 prototypes
  config.queue_start_step = 0
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  return config
