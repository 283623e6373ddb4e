r"""MixMatch on digits, 40 labels (4 per class), with ReMixMatch's distribution alignment (its running mean), at twice
FixMatch's 1500 steps (both chosen on seeds 0-2: README, "Semi-supervised"); ~4 CPU-min.

python launch.py --config configs/mixmatch_digits.py --workdir /tmp/mixmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits(
    'mixmatch', optimizer="adamw", lr=0.002, weight_decay=0.02, schedule="constant", total_steps=3000
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
