r"""FixMatch on SVHN with 250 labels, the paper's recipe (Sohn et al., 2020): 97.52% accuracy (2.48% error, RA).

  python launch.py --config configs/fixmatch_svhn.py --workdir /tmp/fixmatch_svhn \
      --config.data_dir=~/tensorflow_datasets

As configs/fixmatch_cifar10.py (WRN-28-2); the dataset forbids flips (house numbers). Needs
`tfds build svhn_cropped --data_dir DIR`.
"""
from ssljax import config_base


def get_config():
  config = config_base.common(method="fixmatch", dataset="svhn_cropped", model="wrn28_2", num_labels=250,
                              total_steps=2**20, batch_size=64, eval_every=2**14, checkpoint_every=2**12,
                              log_every=500, ema_decay=0.999, lr=0.03, weight_decay=5e-4)
  config.model_kwargs.bn_momentum = 0.999
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.augment = config_base.augment(weak_shift=4.0, weak_noise=0.0, strong_shift=4.0, strong_style="randaugment",
                                       strong_ops=2, cutout=0.5)
  return config
