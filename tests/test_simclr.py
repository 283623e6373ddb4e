"""SimCLR on the spine: 1 vs 4 devices, results.json with the representation report, eval-only, bad input."""

import os
import subprocess
import sys

import flax.linen as nn
import jax
import numpy as np
import pytest
from helpers import REPO, load_config, read_json, run_steps

from ssljax import models, train
from ssljax.errors import ConfigError
from ssljax.methods import simclr

TINY = {
  "batch_size": 8,
  "total_steps": 2,
  "checkpoint_every": 2,
  "eval_every": 1000,
  "log_every": 1,
  "warmup_steps": 1,
  "model_kwargs.width": 4,
  "proj_dim": 8,
}
REPORT_KEYS = ("linear_probe_accuracy", "linear_probe_accuracy_all", "knn_accuracy", "kmeans_nmi")


def tiny_simclr(**overrides):
  return load_config("simclr_digits", **{**TINY, **overrides})


def test_four_devices_match_one_device():
  """Same global batch on 1 and 4 devices: same loss (negatives gathered from every device, global BatchNorm) and
  the same parameters after 2 LARS steps (gradient = that of the global-batch loss, not 4x)."""
  assert jax.device_count() == 4
  task = simclr.build(tiny_simclr())
  s1, m1 = run_steps(task, 1, 2)
  s4, m4 = run_steps(task, 4, 2)
  assert m1[0]["loss"] > 0 and np.isfinite(m1[-1]["loss"])
  for a, b in zip(m1, m4):
    for k in a:
      np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=2e-5, err_msg=k)
  close = lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
  jax.tree.map(close, s1.params, s4.params)
  jax.tree.map(close, s1.batch_stats, s4.batch_stats)
  # The parameters moved (a step that changed nothing would also match).
  init = jax.device_get(train.init_state(task, seed=0))
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(init.params), jax.tree.leaves(s1.params)))


def test_run_writes_representation_results_and_eval_only_reproduces_them(tmp_path):
  workdir = str(tmp_path / "w")
  config = tiny_simclr()
  results = train.train_and_evaluate(config, workdir, simclr.build)
  on_disk = read_json(os.path.join(workdir, "results.json"))
  assert on_disk["method"] == "simclr" and on_disk["steps"] == 2 and on_disk["num_labels"] == 40
  for key in REPORT_KEYS:
    assert 0.0 <= on_disk[key] <= 1.0, key
  assert on_disk["feature_dim"] == 16  # CNN width 4: 4 * width
  assert os.path.getsize(os.path.join(workdir, "tsne.png")) > 1000

  # --eval_only re-evaluates the checkpoint: the same figures, the picture drawn again.
  os.remove(os.path.join(workdir, "tsne.png"))
  again = train.train_and_evaluate(config, workdir, simclr.build, eval_only=True)
  for key in REPORT_KEYS:
    assert again[key] == results[key], key
  assert os.path.exists(os.path.join(workdir, "tsne.png"))


@pytest.mark.parametrize(
  "overrides, needle",
  [
    ({"temperature": 0.0}, "temperature=0.0 must be > 0"),
    ({"temperature": -0.5}, "temperature=-0.5 must be > 0"),
    ({"batch_size": 1}, "at least 2 images"),
    ({"num_views": 3}, "exactly 2 views"),
    ({"num_views": 1}, "exactly 2 views"),
  ],
)
def test_bad_config(overrides, needle):
  with pytest.raises(ConfigError, match=needle) as info:
    simclr.build(tiny_simclr(**overrides))
  assert "\n" not in str(info.value)


class _MapEncoder(nn.Module):
  """Returns feature maps [B, H, W, C], not features [B, F]."""

  axis_name: str | None = None

  @nn.compact
  def __call__(self, x, train):
    return nn.Conv(4, (3, 3))(x)


def test_encoder_without_feature_output(monkeypatch):
  monkeypatch.setitem(models.ENCODERS, "maps", _MapEncoder)
  with pytest.raises(ConfigError, match=r"no feature output.*\[B, F\].*\(2, 8, 8, 4\)") as info:
    simclr.build(tiny_simclr(model="maps", model_kwargs={}))
  assert "\n" not in str(info.value)


def test_eval_only_without_checkpoint_is_one_error_line(tmp_path):
  proc = subprocess.run(
    [
      sys.executable,
      os.path.join(REPO, "launch.py"),
      "--config",
      os.path.join(REPO, "configs", "simclr_digits.py"),
      "--workdir",
      str(tmp_path / "empty"),
      "--eval_only",
    ],
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )
  assert proc.returncode != 0
  lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith(("WARNING", "I0000", "W0000"))]
  assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
  assert "nothing to evaluate" in lines[0] and "no checkpoint" in lines[0]
