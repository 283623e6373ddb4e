r"""VICReg on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/vicreg_digits.py --workdir /tmp/vicreg_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("vicreg", lr=0.3, weight_decay=0.0001)
  config.sim_weight = 25.0
  config.var_weight = 25.0
  config.cov_weight = 1.0
  config.proj_dim = 256
  config.proj_hidden_dim = 256
  return config
