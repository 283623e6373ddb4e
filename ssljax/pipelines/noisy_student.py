"""Noisy Student (Xie et al., 2020): a teacher labels the unlabelled pool without noise (EMA weights, inference mode,
clean images); a noised student (strong augmentation, dropout: config.sup_augment, config.model_kwargs.dropout,
MixUp) learns the labelled set plus the teacher's pseudo-labels, soft or hard, whose confidence is ≥
pseudo_threshold, at most `per_class` per class (the most confident first, when per_class > 0); the student becomes
the next teacher, for num_rounds rounds. Student r's network is width_growth^r times as wide as the first
teacher's (config.model_kwargs.width; 1: all the same size; the paper's students are equal or larger).

The first teacher: config.teacher_workdir (a finished run), or config.teacher_config trained as stage 0, or (both
empty) this config's noised supervised recipe on the labelled set alone. Student r is the ordinary `supervised`
run with `pseudo_labels` = workdir/pseudo_labels_round{r}.npz (hard labels and, with `soft`, the teacher's
probabilities as targets; `labelled_fraction` of each batch from the true labels, when > 0); results.json lists the
teacher and every student with its pseudo-labels' statistics.
"""

import os

from ssljax import checks
from ssljax.errors import ConfigError
from ssljax.methods import common
from ssljax.pipelines import stages

CHECKS = {
  "num_rounds": checks.POSITIVE_INT,
  "pseudo_threshold": checks.PROBABILITY,
  "per_class": checks.NON_NEGATIVE_INT,
  "soft": checks.BOOL,
  "width_growth": checks.number(1),
  "teacher_workdir": checks.Check(lambda v: isinstance(v, str), "a finished run's workdir, or ''", 0),
  "teacher_config": checks.Check(lambda v: isinstance(v, str), "a config name or file, or ''", 0),
}
OWN_KEYS = tuple(CHECKS)


def student_config(config, round_=0, **overrides):
  """The `supervised` config of round `round_` (0: the first teacher trained by this job)."""
  growth = config.get("width_growth", 1.0)
  if round_ and growth != 1:
    width = max(1, round(config.model_kwargs.width * growth**round_))
    overrides = {"model_kwargs.width": width, **overrides}
  return stages.stage_config(config, OWN_KEYS, method="supervised", **overrides)


def check_config(config):
  checks.validate(config, CHECKS)
  if config.get("width_growth", 1.0) != 1 and "width" not in config.get("model_kwargs", {}):
    raise ConfigError(
      f"config.width_growth={config.width_growth} needs a model with config.model_kwargs.width "
      f"(config.model={config.get('model')!r} has none)"
    )
  stages.check(student_config(config))
  stages.check_teacher(config)


def run(config, workdir: str) -> dict:
  check_config(config)
  done = stages.already_finished(config, workdir)
  if done is not None:
    return done
  ds, _, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  stages.check_workdir(config, workdir)
  workdir = os.path.abspath(workdir)
  if config.teacher_workdir or config.teacher_config:
    teacher, summary = stages.teacher(config, workdir, 0)
    summaries = [summary] if summary else []
  else:
    summaries = [stages.run_stage(student_config(config), workdir, 0, "teacher")]
    teacher = stages.stage_dir(workdir, 0, "teacher")
  for r in range(1, config.num_rounds + 1):
    path = os.path.join(workdir, f"pseudo_labels_round{r}.npz")
    if not os.path.exists(path):
      (probs,) = stages.predict(teacher, ds, [x_u])
      idx, labels = stages.select(probs, config.pseudo_threshold, config.per_class)
      stages.write_pseudo_labels(path, idx, labels, probs[idx] if config.soft else None)
    summary = stages.run_stage(student_config(config, r, pseudo_labels=path), workdir, r, f"student{r}")
    summary["pseudo_labels"] = stages.pseudo_label_stats(path, y_u, ds.num_classes)
    summaries.append(summary)
    teacher = stages.stage_dir(workdir, r, f"student{r}")
  extra = {}
  if config.teacher_workdir:
    from ssljax import train

    extra["teacher_test_accuracy"] = train.read_results(config.teacher_workdir).get("test_accuracy")
  return stages.finish(config, workdir, summaries, test_accuracy=summaries[-1]["test_accuracy"], **extra)
