"""ssljax.sweep: every (config, seed, grid point) in its own workdir, resumable, tabulated."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from helpers import REPO, TINY

TINY_SETS = [
  f"--set={k}={v}"
  for k, v in TINY.items()
  if k in ("batch_size", "total_steps", "checkpoint_every", "eval_every", "log_every", "model_kwargs.width")
]


def sweep(*args):
  return subprocess.run(
    [sys.executable, "-m", "ssljax.sweep", *args], capture_output=True, text=True, cwd=REPO, timeout=1200
  )


def test_sweep_runs_a_grid_resumes_and_tabulates(tmp_path):
  out = tmp_path / "sweep"
  common = [
    "--config",
    "supervised_digits",
    "--config",
    "configs/fixmatch_digits.py",
    "--set",
    "num_labels=10,20",
    *TINY_SETS,
    "--out",
    str(out),
    "--jobs",
    "2",
  ]
  first = sweep(*common, "--seeds", "0")
  assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
  proc = sweep(*common, "--seeds", "0,1")  # more seeds: the finished runs are kept
  assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
  assert "8 runs, 4 already finished, 4 to run" in proc.stdout and "ETA" in proc.stdout
  with open(out / "results.csv") as f:
    rows = list(csv.DictReader(f))
  assert {(r["config"], r["num_labels"], r["seed"]) for r in rows} == {
    (c, n, s) for c in ("supervised_digits", "fixmatch_digits") for n in ("10", "20") for s in ("0", "1")
  }
  md = (out / "results.md").read_text()
  assert md.count("| fixmatch_digits,num_labels=") == 2 and md.count("| supervised_digits,num_labels=") == 2
  with Image.open(out / "results.png") as im:
    assert im.size[0] > 300 and len(np.unique(np.asarray(im.convert("L")))) > 2
  again = sweep(*common, "--seeds", "0,1")
  assert again.returncode == 0 and "8 already finished, 0 to run" in again.stdout
  assert os.path.exists(out / "runs" / "fixmatch_digits,num_labels=10" / "seed1" / "log.txt")


def test_failed_runs_are_reported(tmp_path):
  proc = sweep("--config", "fixmatch_digits", "--seeds", "0", "--set", "no_such_key=1", "--out", str(tmp_path))
  assert proc.returncode != 0 and "1 of 1 runs failed: fixmatch_digits seed 0" in proc.stderr
  assert "unknown config key" in (tmp_path / "runs" / "fixmatch_digits" / "seed0" / "log.txt").read_text()


def test_columns_table(tmp_path):
  """--columns tabulates the mean ± std of each named result per group; a result no run reports is an error."""
  from ssljax import sweep as sweep_lib

  for seed, acc in ((10, 0.9), (11, 0.8)):
    workdir = tmp_path / "runs" / "supervised_digits" / f"seed{seed}"
    workdir.mkdir(parents=True)
    stage = {"name": "round1", "pseudo_labels": {"accepted": 100 * seed, "accuracy": acc, "per_class": [1, 2]}}
    results = {"seed": seed, "test_accuracy": acc, "wall_seconds": 100 + seed, "stages": [{"name": "round0"}, stage]}
    (workdir / "results.json").write_text(json.dumps(results))
  args = ["--config", "supervised_digits", "--seeds", "10,11", "--out", str(tmp_path), "--report_only"]
  columns = "test_accuracy,wall_seconds,pseudo_labels_accepted_round1,pseudo_labels_accuracy_round1"
  sweep_lib.main([*args, "--columns", columns])
  md = (tmp_path / "results.md").read_text()
  assert f"| config | seeds | {columns.replace(',', ' | ')} |" in md
  assert "| supervised_digits | 10,11 | 85.0 ± 7.1 | 110 ± 1 | 1050 ± 71 | 85.0 ± 7.1 |" in md
  proc = sweep(*args, "--columns", "test_accuracy,no_such_result")
  assert proc.returncode != 0 and "no run reports: no_such_result" in proc.stderr


def test_train_columns_average_the_end_of_the_training_log(tmp_path):
  """train.<tag> is the mean of a logged training scalar over the last quarter of the run's logged steps."""
  from ssljax import summary
  from ssljax import sweep as sweep_lib

  for seed, offset in ((0, 0.0), (1, 0.5)):
    workdir = tmp_path / "runs" / "fixmatch_digits" / f"seed{seed}"
    workdir.mkdir(parents=True)
    (workdir / "results.json").write_text(json.dumps({"seed": seed, "test_accuracy": 0.5}))
    writer = summary.ScalarWriter(str(workdir))
    for step in range(10, 110, 10):  # mask_rate = step / 100 + offset; steps 80, 90, 100 are the last quarter
      writer.write(step, {"mask_rate": step / 100 + offset, "loss": 1.0})
    writer.close()
  args = ["--config", "fixmatch_digits", "--seeds", "0,1", "--out", str(tmp_path), "--report_only"]
  sweep_lib.main([*args, "--columns", "test_accuracy,train.mask_rate"])
  with open(tmp_path / "results.csv") as f:
    rows = list(csv.DictReader(f))
  np.testing.assert_allclose([float(r["train.mask_rate"]) for r in rows], [0.9, 1.4], rtol=1e-6)
  assert "| fixmatch_digits | 0,1 | 50.0 ± 0.0 | 1.15 ± 0.35 |" in (tmp_path / "results.md").read_text()
  proc = sweep(*args, "--columns", "train.no_such_tag")
  assert proc.returncode != 0 and "no run reports: train.no_such_tag" in proc.stderr
