r"""Noisy Student on digits, 40 labels: a noised supervised teacher, then noised students (strong views, dropout,
MixUp) on its confident soft pseudo-labels with half of each batch from the true labels, each student the next teacher
and 1.5 times wider (the threshold, batch share and growth chosen on seeds 0-2); the paper has no digits figure;
~5 CPU-min.

python launch.py --config configs/noisy_student_digits.py --workdir /tmp/noisy_student_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("noisy_student")  # total_steps is per stage
  config.model_kwargs.dropout = 0.3  # noise: dropout on the features
  config.sup_augment = "strong"  # noise: strong views
  config.mixup_alpha = 0.75
  config.num_rounds = 3  # students
  config.pseudo_threshold = 0.9  # keep pseudo-labels at least this confident
  config.per_class = 0  # at most this many per class, most confident first (0: no limit)
  config.soft = True  # the teacher's probabilities as targets (else its argmax)
  config.labelled_fraction = 0.5  # share of each student batch from the true labels (0: uniform over the pool)
  config.width_growth = 1.5  # student r is width_growth**r times as wide as the first teacher
  config.teacher_workdir = ""  # the first teacher: a finished run, or
  config.teacher_config = ""  # a config trained as stage 0, or (both '') this recipe on the labels alone
  return config
