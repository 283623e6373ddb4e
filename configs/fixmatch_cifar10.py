r"""FixMatch on CIFAR-10 with 250 labels, the paper's recipe (Sohn et al., 2020): 94.93% accuracy (5.07% error).

  python launch.py --config configs/fixmatch_cifar10.py --workdir /tmp/fixmatch_cifar10 \
      --config.data_dir=~/tensorflow_datasets

WRN-28-2 (leaky ReLU 0.1, BN momentum 0.999), SGD Nesterov 0.9, lr 0.03·cos(7πk/16K), K = 2^20 steps, weight
decay 5e-4 on kernels, B=64, μ=7, τ=0.95, λu=1, EMA 0.999; weak = flip + 12.5% translate, strong = RandAugment +
Cutout. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with internet.
"""
from ssljax import config_base


def get_config():
  config = config_base.common(method="fixmatch", dataset="cifar10", model="wrn28_2", num_labels=250,
                              total_steps=2**20, batch_size=64, eval_every=2**14, checkpoint_every=2**12,
                              log_every=500, ema_decay=0.999, lr=0.03, weight_decay=5e-4)
  config.model_kwargs.bn_momentum = 0.999
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.augment = config_base.augment(weak_shift=4.0, weak_noise=0.0, strong_shift=4.0, strong_style="randaugment",
                                       strong_ops=2, cutout=0.5)
  return config
