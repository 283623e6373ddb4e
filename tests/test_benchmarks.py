"""Smoke test of benchmarks/train_step.py: a tiny digits config, 1 warm-up + 1 timed step, 2 devices, no torch.

The supervised method with weak views is the cheapest train.Task to compile (about 30 CPU-seconds for the three
variants); FixMatch goes through the same code (train.Task, train.make_step).
"""

import json
import os
import subprocess
import sys

from helpers import REPO


def test_train_step_benchmark_smoke():
  env = dict(os.environ)
  env.pop("XLA_FLAGS", None)  # the script must add both its own device count and ssljax's conv flag
  cmd = [
    sys.executable,
    os.path.join(REPO, "benchmarks", "train_step.py"),
    f"--config={os.path.join(REPO, 'configs', 'supervised_digits.py')}",
    "--config.model_kwargs.width=4",
    "--config.batch_size=8",
    "--config.sup_augment=weak",
    "--config.mixup_alpha=0.0",
    "--steps",
    "1",
    "--warmup",
    "1",
    "--num_devices",
    "2",
    "--peak_size",
    "128",
  ]
  r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
  assert r.returncode == 0, r.stderr[-3000:]
  res = json.loads(r.stdout.strip().splitlines()[-1])
  assert res["config"] == "supervised_digits" and res["method"] == "supervised"
  assert res["num_devices"] == 2 and res["images_per_step"] == 8
  for key in (
    "images_per_sec",
    "step_ms",
    "no_aug_images_per_sec",
    "sample_ms",
    "peak_gflop_s",
    "achieved_gflop_s",
    "fraction_of_peak",
  ):
    assert res[key] > 0, key
  assert res["compile_s"] >= 0 and "full_error" not in res
  assert res["flops_source"].startswith("XLA cost_analysis")  # no FLOP table entry for the digits CNN
  assert "--xla_force_host_platform_device_count=2" in res["xla_flags"]
  assert "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution" in res["xla_flags"]
  assert res["cpu"] and "torch_eager_images_per_sec" not in res
