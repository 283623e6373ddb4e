r"""FixMatch on CIFAR-100 with 2500 labels, the paper's recipe (Sohn et al., 2020): 71.71% accuracy (28.29% error, RA).

  python launch.py --config configs/fixmatch_cifar100.py --workdir /tmp/fixmatch_cifar100 \
      --config.data_dir=~/tensorflow_datasets

As configs/fixmatch_cifar10.py but WRN-28-8 and weight decay 1e-3. Needs `tfds build cifar100 --data_dir DIR`.
"""

from ssljax import config_base


def get_config():
  return config_base.fixmatch_paper(dataset="cifar100", model="wrn28_8", num_labels=2500, weight_decay=1e-3)
