r"""FixMatch on CIFAR-100 with 2500 labels, the paper's recipe (Sohn et al., 2020): 71.71% accuracy (28.29% error, RA).

  python launch.py --config configs/fixmatch_cifar100.py --workdir /tmp/fixmatch_cifar100 \
      --config.data_dir=~/tensorflow_datasets

As configs/fixmatch_cifar10.py but WRN-28-8 and weight decay 1e-3. Needs `tfds build cifar100 --data_dir DIR`.
"""
from ssljax import config_base


def get_config():
  config = config_base.common(method="fixmatch", dataset="cifar100", model="wrn28_8", num_labels=2500,
                              total_steps=2**20, batch_size=64, eval_every=2**14, checkpoint_every=2**12,
                              log_every=500, ema_decay=0.999, lr=0.03, weight_decay=1e-3)
  config.model_kwargs.bn_momentum = 0.999
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.augment = config_base.augment(weak_shift=4.0, weak_noise=0.0, strong_shift=4.0, strong_style="randaugment",
                                       strong_ops=2, cutout=0.5)
  return config
