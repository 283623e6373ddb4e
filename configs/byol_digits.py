r"""BYOL on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/byol_digits.py --workdir /tmp/byol_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("byol", lr=1.0, weight_decay=1e-05)
  config.base_tau = 0.99
  config.final_tau = 1.0
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  config.pred_hidden_dim = 256
  return config
