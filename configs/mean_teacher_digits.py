r"""Mean Teacher on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/mean_teacher_digits.py --workdir /tmp/mean_teacher_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("mean_teacher")
  config.mu = 1
  config.lambda_u = 50.0
  config.rampup_steps = 600
  config.rampup_shape = "sigmoid"
  config.teacher_decay = 0.99
  config.view = "weak"
  return config
