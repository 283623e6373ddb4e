r"""Jigsaw on digits: a 2x2 grid of 3x3 tiles (8x8 allows no 3x3 grid), all 24 orders + evaluation; ~2 CPU-min.

python launch.py --config configs/jigsaw_digits.py --workdir /tmp/jigsaw_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.pretext("jigsaw", "digits", weight_decay=5e-4)  # AdamW: chosen over SGD on seeds 0-2
  config.grid = 0  # 0: 3x3 where the cells are at least 5 px, else 2x2
  config.tile_size = 0  # 0: about 85% of the cell
  config.num_permutations = 24
  config.head_hidden_dim = 0  # 0: the concatenated tile features' size
  config.features = "image"  # the representation evaluated: the encoder on the whole image, or "tiles"
  return config
