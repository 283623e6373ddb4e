r"""VAT on digits, 40 labels (4 per class): FixMatch's digits network, EMA and 1500 steps.

python launch.py --config configs/vat_digits.py --workdir /tmp/vat_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("vat")
  config.mu = 1
  config.lambda_u = 1.0
  config.rampup_steps = 600
  config.rampup_shape = "linear"
  config.vat_eps = 2.0
  config.vat_xi = 1e-6
  config.power_iterations = 1
  config.entropy_weight = 0.06
  config.view = "weak"
  return config
