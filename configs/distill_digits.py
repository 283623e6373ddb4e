r"""Knowledge distillation on digits, 40 labels: a FixMatch teacher (stage 0, configs/fixmatch_digits.py) taught to a
same-size student; the paper has no digits figure; ~6 CPU-min (both stages). Half-width student: add
--config.model_kwargs.width=8. An existing teacher run: --config.teacher_workdir=DIR (then one stage).

python launch.py --config configs/distill_digits.py --workdir /tmp/distill_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("distill")
  config.model_kwargs.width = 16  # the student; the teacher's model comes from its run
  config.teacher_workdir = ""  # a finished run to learn from; '' trains teacher_config first
  config.teacher_config = "fixmatch_digits"  # the teacher's config (its seed, labels and dataset are this config's)
  config.temperature = 2.0  # T
  config.alpha = 1.0  # α, the weight of T²·KL
  config.mu = 4  # unlabelled images per labelled image in a batch
  config.view = "weak"  # the augmentation both teacher and student see
  return config
