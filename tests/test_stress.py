"""Stress: multi-device CPU runs on a busy machine finish or fail with a clear message, and never hang.

Not in the default run (marker `stress`; about 20 minutes on 2 cores):
  python -m pytest -q -m stress tests/test_stress.py
With too small an XLA thread pool (SSLJAX_STRESS_NPROC=4 pins NPROC for the subprocesses) the collective loop aborts
in XLA's rendezvous: that is the failure this guards against (docs/design.md).
"""

import os
import subprocess
import sys
import time

import pytest

from helpers import REPO, read_json

pytestmark = pytest.mark.stress
HERE = os.path.dirname(os.path.abspath(__file__))


def _spin(seconds):
  end = time.time() + seconds
  while time.time() < end:
    pass


@pytest.fixture
def busy_cores():
  """Keeps every core busy (two spinning processes per core) while the test runs."""
  import multiprocessing

  procs = [multiprocessing.Process(target=_spin, args=(3600,), daemon=True) for _ in range(2 * (os.cpu_count() or 1))]
  for p in procs:
    p.start()
  yield
  for p in procs:
    p.terminate()


def _env(num_devices):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={num_devices}")
  env.pop("NPROC", None)
  if os.environ.get("SSLJAX_STRESS_NPROC"):
    env["NPROC"] = os.environ["SSLJAX_STRESS_NPROC"]
  return env


@pytest.mark.parametrize("num_devices", [4, 8])
def test_collective_loop_under_load(busy_cores, num_devices):
  for _ in range(3):
    proc = subprocess.run(
      [sys.executable, os.path.join(HERE, "collectives_loop.py"), "200"],
      env=_env(num_devices),
      capture_output=True,
      text=True,
      timeout=600,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-2000:]


@pytest.mark.parametrize("num_devices", [4, 8])
def test_launch_with_checkpoints_and_evaluations_under_load(busy_cores, tmp_path, num_devices):
  workdir = tmp_path / "w"
  args = [
    "--config",
    os.path.join(REPO, "configs", "fixmatch_digits.py"),
    "--workdir",
    str(workdir),
    "--config.total_steps=300",
    "--config.eval_every=60",
    "--config.checkpoint_every=30",
    "--config.log_every=10",
    "--compilation_cache=",
  ]
  proc = subprocess.run(
    [sys.executable, os.path.join(REPO, "launch.py"), *args],
    env=_env(num_devices),
    capture_output=True,
    text=True,
    timeout=1500,
    cwd=REPO,
  )
  assert proc.returncode == 0, proc.stderr[-2000:]
  results = read_json(workdir / "results.json")
  assert results["steps"] == 300 and results["num_devices"] == num_devices
