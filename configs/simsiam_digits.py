r"""SimSiam on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/simsiam_digits.py --workdir /tmp/simsiam_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("simsiam", optimizer="sgd", lr=0.5, nesterov=False, weight_decay=1e-05)
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  config.pred_hidden_dim = 16
  return config
