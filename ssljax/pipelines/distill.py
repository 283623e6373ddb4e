"""Knowledge distillation as a job: config.teacher_config trained as stage 0 ('teacher', with this config's seed,
labels and dataset), then the `distill` method's student as stage 1 ('student') with teacher_workdir pointing at it.
launch.py runs this for a distill config whose teacher_workdir is empty (ssljax.jobs)."""

import os

from ssljax import train
from ssljax.methods import distill
from ssljax.pipelines import stages

CHECKS = distill.CHECKS


def check_config(config):
  train.check_config(config, distill)
  stages.check_teacher(config)


def run(config, workdir: str) -> dict:
  check_config(config)
  done = stages.already_finished(config, workdir)
  if done is not None:
    return done
  stages.check_workdir(config, workdir)
  workdir = os.path.abspath(workdir)
  teacher, summary = stages.teacher(config, workdir, 0)
  student = stages.stage_config(config, teacher_workdir=teacher, teacher_config="")
  summaries = [summary, stages.run_stage(student, workdir, 1, "student")]
  return stages.finish(
    config,
    workdir,
    summaries,
    test_accuracy=summaries[1]["test_accuracy"],
    teacher_test_accuracy=summary["test_accuracy"],
  )
