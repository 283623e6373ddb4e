r"""FlexMatch on digits, 40 labels (4 per class): FixMatch's digits recipe with curriculum pseudo-labelling; the paper
has no digits figure; ~3 CPU-min.

python launch.py --config configs/flexmatch_digits.py --workdir /tmp/flexmatch_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="flexmatch",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1500,
    batch_size=64,
    eval_every=500,
    checkpoint_every=250,
    ema_decay=0.999,
    lr=0.03,
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.mu = 7
  config.threshold = 0.95  # τ, the threshold of a fully learnt class
  config.lambda_u = 1.0
  config.threshold_warmup = True
  config.mapping = "convex"  # M(β) = β / (2 − β), or "linear"
  config.augment = config_base.augment()
  return config
