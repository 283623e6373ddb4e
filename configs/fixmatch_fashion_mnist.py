r"""FixMatch on Fashion-MNIST, 250 labels (25 per class; 40 with --config.num_labels=40), 800 steps; ~40 CPU-min.

python launch.py --config configs/fixmatch_fashion_mnist.py --workdir /tmp/fixmatch_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_fashion_mnist("fixmatch", num_labels=250, total_steps=800)
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  return config
