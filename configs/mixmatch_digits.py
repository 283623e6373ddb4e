r"""MixMatch on digits, 40 labels (4 per class), with ReMixMatch's distribution alignment (its running mean), at twice
FixMatch's 1500 steps (both chosen on seeds 0-2: README, "Semi-supervised"); ~4 CPU-min.

python launch.py --config configs/mixmatch_digits.py --workdir /tmp/mixmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits(
    'mixmatch', optimizer="adamw", lr=0.002, weight_decay=0.02, schedule="constant", total_steps=3000
  )
  return config_base.mixmatch_digits_knobs(config)
