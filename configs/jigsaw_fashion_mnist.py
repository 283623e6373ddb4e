r"""Jigsaw puzzles on Fashion-MNIST: a 3x3 grid of 8x8 tiles (9-pixel cells), 100 permutations (the paper: 1000 of
9!), then the representation evaluation. A short budget for CPUs (1000 steps of 64 images: about one epoch);
~15 CPU-min.

python launch.py --config configs/jigsaw_fashion_mnist.py --workdir /tmp/jigsaw_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="jigsaw",
    dataset="fashion_mnist",
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
  config.num_permutations = 100
  config.head_hidden_dim = 0  # 0: the concatenated tile features' size
  return config
