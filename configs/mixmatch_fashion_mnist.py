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
  config.num_augment = 2  # K
  config.temperature = 0.5  # T
  config.mixup_alpha = 0.75  # α
  config.view = "weak"  # augmentation of x̂ and the K û views: "weak" (the paper) or "strong"
  config.lambda_u = 30.0
  config.rampup_steps = 500
  config.distribution_alignment = "running"  # ReMixMatch §3.1 on the label guess: "off", "batch" or "running"
  config.alignment_steps = 128  # the running mean's window
  return config
