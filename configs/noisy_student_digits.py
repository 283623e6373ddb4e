r"""Noisy Student on digits, 40 labels: a noised supervised teacher, then noised students (strong views, dropout,
MixUp) on its soft pseudo-labels, each the next teacher; the paper has no digits figure; ~5 CPU-min.

python launch.py --config configs/noisy_student_digits.py --workdir /tmp/noisy_student_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="noisy_student",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1500,  # per stage
    batch_size=64,
    eval_every=500,
    checkpoint_every=250,
    ema_decay=0.999,
    lr=0.03,
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.model_kwargs.dropout = 0.3  # noise: dropout on the features
  config.sup_augment = "strong"  # noise: strong views
  config.mixup_alpha = 0.75
  config.augment = config_base.augment()
  config.num_rounds = 3  # students
  config.pseudo_threshold = 0.5  # keep pseudo-labels at least this confident
  config.per_class = 0  # at most this many per class, most confident first (0: no limit)
  config.soft = True  # the teacher's probabilities as targets (else its argmax)
  config.teacher_workdir = ""  # the first teacher: a finished run, or
  config.teacher_config = ""  # a config trained as stage 0, or (both '') this recipe on the labels alone
  return config
