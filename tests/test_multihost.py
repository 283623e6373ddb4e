"""Two processes on localhost (jax.distributed, gloo CPU collectives) train like one process with 4 devices."""

import os
import socket
import subprocess
import sys

from ssljax import train
from ssljax.methods import fixmatch

from helpers import REPO, TINY_ARGS, read_json, tiny_fixmatch


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_single_process(tmp_path):
  workdir = tmp_path / "multi"
  port = _free_port()
  procs = []
  for i in range(2):
    env = dict(
      os.environ,
      JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
      SSLJAX_NUM_PROCESSES="2",
      SSLJAX_PROCESS_ID=str(i),
      XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    procs.append(
      subprocess.Popen(
        [
          sys.executable,
          os.path.join(REPO, "launch.py"),
          "--config",
          os.path.join(REPO, "configs", "fixmatch_digits.py"),
          "--workdir",
          str(workdir),
          "--distributed",
          *TINY_ARGS,
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
      )
    )
  outs = [p.communicate(timeout=600) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  multi = read_json(workdir / "results.json")
  assert multi["num_devices"] == 4 and multi["num_processes"] == 2

  single = train.train_and_evaluate(tiny_fixmatch(num_devices=4), str(tmp_path / "single"), fixmatch)
  assert single["num_devices"] == 4 and single["num_processes"] == 1
  # Same global batch and computation; only the all-reduce implementation differs (gloo vs in-process).
  assert abs(multi["test_accuracy"] - single["test_accuracy"]) <= 2 / 360
  assert multi["steps"] == single["steps"]
