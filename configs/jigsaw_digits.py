r"""Jigsaw puzzles on digits: a 2x2 grid of 3x3 tiles (the 8x8 image allows no 3x3 grid), all 24 orders, then the
representation evaluation; ~2 CPU-min.

python launch.py --config configs/jigsaw_digits.py --workdir /tmp/jigsaw_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="jigsaw",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1000,
    batch_size=64,
    eval_every=1000,
    checkpoint_every=250,
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    schedule="warmup_cosine",
  )
  config.warmup_steps = 50
  config.model_kwargs.width = 32
  config.model_kwargs.bn_momentum = 0.9
  config.grid = 0  # 0: 3x3 where the cells are at least 5 px, else 2x2
  config.tile_size = 0  # 0: about 85% of the cell
  config.num_permutations = 24
  config.head_hidden_dim = 0  # 0: the concatenated tile features' size
  return config
