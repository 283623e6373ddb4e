r"""FixMatch on SVHN with 250 labels, the paper's recipe (Sohn et al., 2020): 97.52% accuracy (2.48% error, RA).

  python launch.py --config configs/fixmatch_svhn.py --workdir /tmp/fixmatch_svhn \
      --config.data_dir=~/tensorflow_datasets

As configs/fixmatch_cifar10.py (WRN-28-2); the dataset forbids flips (house numbers). Needs
`tfds build svhn_cropped --data_dir DIR`.
"""

from ssljax import config_base


def get_config():
  return config_base.fixmatch_paper(dataset="svhn_cropped", num_labels=250)
