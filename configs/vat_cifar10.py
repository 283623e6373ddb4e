r"""VAT on CIFAR-10, 40 labels, USB's classic-CV recipe: USB reports 76.42 ± 2.57% error; 2^20 steps.

  python launch.py --config configs/vat_cifar10.py --workdir /tmp/vat_cifar10 \
      --config.data_dir=~/tensorflow_datasets

Follows config/classic_cv/vat/vat_cifar10_40_0.yaml of microsoft/Semi-supervised-learning (the error: its
results/classic_cv.csv): WRN-28-2, SGD Nesterov 0.9, lr 0.03·cos(7πk/16K), weight decay 5e-4, B=64, EMA 0.999; μ=1,
λu=1 ramped up linearly over the first 40% of steps, ε=6, ξ=1e-6, 1 power iteration, entropy weight 0.06 (USB's
algorithm defaults), weak view. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with
internet.
"""

from ssljax import config_base


def get_config():
  config = config_base.usb_mu1("vat")
  del config.threshold
  config.lambda_u = 1.0
  config.vat_eps = 6.0
  config.vat_xi = 1e-6
  config.power_iterations = 1
  config.entropy_weight = 0.06
  return config
