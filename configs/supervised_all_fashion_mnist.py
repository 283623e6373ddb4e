r"""The fully-supervised ceiling on Fashion-MNIST: FixMatch's network on all 60,000 labels, weak views, 3000 steps
of 128 (~6.4 epochs); ~15 CPU-min.

python launch.py --config configs/supervised_all_fashion_mnist.py --workdir /tmp/supervised_all_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_fashion_mnist(
    "supervised", num_labels=-1, total_steps=3000, batch_size=128, eval_every=1000, checkpoint_every=500
  )
  config.sup_augment = "weak"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.0
  return config
