r"""DINO on CIFAR-10, solo-learn's dino.yaml: 89.52% online linear accuracy; 195k steps of 256 (a GPU job).

  python launch.py --config configs/dino_cifar10.py --workdir /tmp/dino_cifar10 \
      --config.data_dir=~/tensorflow_datasets
"""

from ssljax import config_base


def get_config():
  config = config_base.solo_learn_cifar10("dino", config_base.solo_learn_views("asymmetric"), lr=0.3, weight_decay=1e-6)
  config.base_tau = 0.9995
  config.final_tau = 1.0
  config.student_temp = 0.1
  config.teacher_temp = 0.07
  config.warmup_teacher_temp = 0.04
  config.teacher_temp_warmup_steps = 0  # solo-learn's default: no warm-up from 0.04
  config.center_momentum = 0.9
  config.num_prototypes = 4096  # weight-normalised, after a 2048 → 256 head
  config.proj_dim = 256
  config.proj_hidden_dim = 2048
  config.num_local_crops = 0  # 2 global crops only, as solo-learn's CIFAR runs; set for multi-crop
  config.local_crop_size = 16
  config.local_crop_area = (0.05, 0.4)
  return config
