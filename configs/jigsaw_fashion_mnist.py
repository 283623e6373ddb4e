r"""Jigsaw on Fashion-MNIST: 3x3 grid of 8x8 tiles, 100 permutations (the paper: 1000), 1000 steps of 64; ~15 CPU-min.

python launch.py --config configs/jigsaw_fashion_mnist.py --workdir /tmp/jigsaw_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.pretext("jigsaw", "fashion_mnist", optimizer="sgd", lr=0.1, weight_decay=5e-4)
  config.grid = 0  # 0: 3x3 where the cells are at least 5 px, else 2x2
  config.tile_size = 0  # 0: about 85% of the cell
  config.num_permutations = 100
  config.head_hidden_dim = 0  # 0: the concatenated tile features' size
  config.features = "image"  # the representation evaluated: the encoder on the whole image, or "tiles"
  return config
