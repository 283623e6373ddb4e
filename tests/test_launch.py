"""launch.py as a user runs it: bad input ends in one error line; SIGKILL/SIGTERM and resume."""

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO, TINY_ARGS, read_json

LAUNCH = [sys.executable, os.path.join(REPO, "launch.py")]
FIXMATCH = ["--config", os.path.join(REPO, "configs", "fixmatch_digits.py")]


def launch(*args, timeout=300):
  return subprocess.run(LAUNCH + list(args), capture_output=True, text=True, timeout=timeout, cwd=REPO)


def assert_one_error_line(proc, *needles):
  assert proc.returncode != 0, proc.stdout
  lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith(("WARNING", "I0000", "W0000"))]
  assert len(lines) == 1, proc.stderr
  assert "Traceback" not in proc.stderr
  for needle in needles:
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
  "args, needles",
  [
    (["--config.no_such_key=1"], ["no_such_key"]),
    (["--config.dataset=mnist"], ["unknown dataset", "mnist"]),
    (["--config.method=fixmutch"], ["unknown method", "fixmutch"]),
    (["--config.num_labels=45"], ["num_labels", "45"]),
    (["--config.num_labels=100000"], ["num_labels", "100000"]),
    (["--config.dataset=cifar10", "--config.data_dir=/nonexistent/tfds"], ["cifar10", "data_dir"]),
  ],
)
def test_bad_input_one_error_line(tmp_path, args, needles):
  proc = launch(*FIXMATCH, "--workdir", str(tmp_path / "w"), *args)
  assert_one_error_line(proc, *needles)


def test_eval_only_on_a_demo_job_is_one_error_line(tmp_path):
  proc = launch(
    "--config", os.path.join(REPO, "configs", "cluster_digits.py"), "--workdir", str(tmp_path / "w"), "--eval_only"
  )
  assert_one_error_line(proc, "--eval_only", "cluster_demo", "demo job")
  assert not (tmp_path / "w").exists()


def test_unwritable_workdir(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  proc = launch(*FIXMATCH, "--workdir", str(blocker / "w"))
  assert_one_error_line(proc, "workdir", "not writable")


def _wait_for(path, proc, timeout=240):
  start = time.time()
  while not os.path.exists(path):
    assert proc.poll() is None, proc.communicate()
    assert time.time() - start < timeout
    time.sleep(0.2)


def test_sigkill_resume_matches_uninterrupted_and_mismatch_refused(tmp_path):
  steps = ["--config.total_steps=12", "--config.checkpoint_every=3"]
  ref = tmp_path / "ref"
  done = launch(*FIXMATCH, "--workdir", str(ref), *TINY_ARGS, *steps)
  assert done.returncode == 0, done.stderr
  want = read_json(ref / "results.json")

  killed = tmp_path / "killed"
  proc = subprocess.Popen(
    LAUNCH + FIXMATCH + ["--workdir", str(killed), *TINY_ARGS, *steps],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    cwd=REPO,
  )
  _wait_for(killed / "checkpoints" / "6", proc)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (killed / "results.json").exists()
  resumed = launch(*FIXMATCH, "--workdir", str(killed), *TINY_ARGS, *steps)
  assert resumed.returncode == 0, resumed.stderr
  assert "resumed from checkpoint" in resumed.stdout
  got = read_json(killed / "results.json")
  assert got["test_accuracy"] == want["test_accuracy"]
  assert got["test_accuracy_raw"] == want["test_accuracy_raw"]

  # A workdir holding another experiment's checkpoints is refused, and left as it was.
  before = sorted(os.listdir(killed / "checkpoints"))
  other = launch(*FIXMATCH, "--workdir", str(killed), *TINY_ARGS, *steps, "--config.seed=1")
  assert_one_error_line(other, "different run", "seed")
  assert sorted(os.listdir(killed / "checkpoints")) == before
  assert read_json(killed / "results.json") == got


def test_sigterm_saves_checkpoint_then_exits(tmp_path):
  workdir = tmp_path / "w"
  proc = subprocess.Popen(
    LAUNCH
    + FIXMATCH
    + ["--workdir", str(workdir), *TINY_ARGS, "--config.total_steps=100000", "--config.checkpoint_every=100000"],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
    cwd=REPO,
  )
  deadline = time.time() + 240
  line = ""
  while "step " not in line:
    line = proc.stdout.readline()
    assert time.time() < deadline and (line or proc.poll() is None)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 143, err
  assert "SIGTERM: saved checkpoint" in out
  steps = [int(d) for d in os.listdir(workdir / "checkpoints") if d.isdigit()]
  assert steps and max(steps) >= 2
