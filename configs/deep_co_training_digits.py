r"""Deep Co-Training on digits, 40 labels: two networks, Jensen–Shannon agreement on unlabelled images, each other's
FGSM examples; the paper has no digits figure; ~5 CPU-min.

python launch.py --config configs/deep_co_training_digits.py --workdir /tmp/deep_co_training_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("deep_co_training")
  config.mu = 2  # unlabelled images per labelled image in a batch
  config.lambda_cot = 1.0
  config.lambda_dif = 0.5
  config.epsilon = 0.05  # FGSM step, in [0, 1] pixel units
  config.rampup_steps = 500
  config.view = "weak"
  return config
