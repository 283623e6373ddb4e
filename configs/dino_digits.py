r"""DINO on digits (the CNN and views of configs/simclr_digits.py, 2000 steps of 256) + representation evaluation.

python launch.py --config configs/dino_digits.py --workdir /tmp/dino_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.ssl_digits("dino", lr=0.3, weight_decay=1e-06)
  config.base_tau = 0.99
  config.final_tau = 1.0
  config.student_temp = 0.1
  config.teacher_temp = 0.07
  config.warmup_teacher_temp = 0.04
  config.teacher_temp_warmup_steps = 300
  config.center_momentum = 0.9
  config.num_prototypes = 256
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  config.num_local_crops = 0  # multi-crop is optional; 8x8 digits leave little room for small crops
  config.local_crop_size = 4
  config.local_crop_area = (0.2, 0.5)
  return config
