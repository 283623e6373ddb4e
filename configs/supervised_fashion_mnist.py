r"""Supervised baseline for FixMatch on Fashion-MNIST: its network, steps and EMA on the 250 labels alone (40 with
--config.num_labels=40); ~4 CPU-min.

python launch.py --config configs/supervised_fashion_mnist.py --workdir /tmp/supervised_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_fashion_mnist("supervised", num_labels=250, total_steps=800)
  config.sup_augment = "strong"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.75
  return config
