r"""Deep Co-Training on digits, 40 labels: two networks, Jensen–Shannon agreement on unlabelled images, each other's
FGSM examples; the paper has no digits figure; ~5 CPU-min.

python launch.py --config configs/deep_co_training_digits.py --workdir /tmp/deep_co_training_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="deep_co_training",
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
  config.mu = 2  # unlabelled images per labelled image in a batch
  config.lambda_cot = 1.0
  config.lambda_dif = 0.5
  config.epsilon = 0.05  # FGSM step, in [0, 1] pixel units
  config.rampup_steps = 500
  config.view = "weak"
  config.augment = config_base.augment()
  return config
