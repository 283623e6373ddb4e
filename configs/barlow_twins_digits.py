r"""Barlow Twins on digits (CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/barlow_twins_digits.py --workdir /tmp/barlow_twins_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("barlow_twins", lr=0.3, weight_decay=0.0001)
  config.lambda_offdiag = 0.0051
  config.scale_loss = 0.1
  config.proj_dim = 256
  config.proj_hidden_dim = 256
  return config
