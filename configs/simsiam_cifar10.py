r"""SimSiam on CIFAR-10, solo-learn's simsiam.yaml: 90.51% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/simsiam_cifar10.py --workdir /tmp/simsiam_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base


def get_config():
  views = config_base.solo_learn_views("symmetric_weak")
  config = config_base.solo_learn_cifar10("simsiam", views, optimizer="sgd", lr=0.5, weight_decay=1e-5)
  config.proj_dim = 2048  # 3 layers, BatchNorm on the output too
  config.proj_hidden_dim = 2048
  config.pred_hidden_dim = 512
  return config
