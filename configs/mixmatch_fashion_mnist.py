r"""MixMatch on Fashion-MNIST, 250 labels (40 with --config.num_labels=40): configs/mixmatch_digits.py's recipe,
3000 steps (about FixMatch's wall-clock: a MixMatch step forwards a third of FixMatch's images); ~35 CPU-min.

python launch.py --config configs/mixmatch_fashion_mnist.py --workdir /tmp/mixmatch_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_fashion_mnist(
    "mixmatch",
    num_labels=250,
    optimizer="adamw",
    lr=0.002,
    weight_decay=0.02,
    schedule="constant",
    total_steps=3000,
    eval_every=1000,
    checkpoint_every=500,
  )
  return config_base.mixmatch_digits_knobs(config)
