"""SimCLR on the spine: results.json with the representation report, eval-only, bad input."""

import os
import subprocess
import sys

import flax.linen as nn
import jax.numpy as jnp
import pytest

from ssljax import models, train
from ssljax.errors import ConfigError
from ssljax.methods import simclr

from helpers import REPO, read_json, tiny_config

REPORT_KEYS = (
  "linear_probe_accuracy",
  "linear_probe_accuracy_all",
  "knn_accuracy",
  "kmeans_nmi",
  "linear_probe_accuracy_random_init",
)


def test_run_writes_representation_results_and_eval_only_reproduces_them(tmp_path):
  workdir = str(tmp_path / "w")
  config = tiny_config("simclr")
  results = train.train_and_evaluate(config, workdir, simclr)
  on_disk = read_json(os.path.join(workdir, "results.json"))
  assert on_disk["method"] == "simclr" and on_disk["steps"] == 4 and on_disk["num_labels"] == 40
  for key in REPORT_KEYS:
    assert 0.0 <= on_disk[key] <= 1.0, key
  assert on_disk["feature_dim"] == 16  # CNN width 4: 4 * width
  assert os.path.getsize(os.path.join(workdir, "tsne.png")) > 1000

  # --eval_only re-evaluates the checkpoint: the same figures, the picture drawn again.
  os.remove(os.path.join(workdir, "tsne.png"))
  again = train.train_and_evaluate(config, workdir, simclr, eval_only=True)
  for key in REPORT_KEYS:
    assert again[key] == results[key], key
  assert os.path.exists(os.path.join(workdir, "tsne.png"))


@pytest.mark.parametrize(
  "overrides, needle",
  [
    ({"temperature": -0.5}, "config.temperature"),
    ({"batch_size": 1}, "config.batch_size"),
    ({"num_views": 1}, "config.num_views"),
  ],
)
def test_bad_config(overrides, needle):
  with pytest.raises(ConfigError, match=needle) as info:
    train.check_config(tiny_config("simclr", **overrides), simclr)
  assert "\n" not in str(info.value)


class _MapEncoder(nn.Module):
  """Returns feature maps [B, H, W, C], not features [B, F]."""

  axis_name: str | None = None
  dtype: object = jnp.float32
  param_dtype: object = jnp.float32

  @nn.compact
  def __call__(self, x, train):
    return nn.Conv(4, (3, 3))(x)


def test_encoder_without_feature_output(monkeypatch):
  monkeypatch.setitem(models.ENCODERS, "maps", _MapEncoder)
  with pytest.raises(ConfigError, match=r"no feature output.*\[B, F\].*\(2, 8, 8, 4\)") as info:
    simclr.build(tiny_config("simclr", model="maps", model_kwargs={}))
  assert "\n" not in str(info.value)


def test_eval_only_without_checkpoint_is_one_error_line(tmp_path):
  args = ["--config", os.path.join(REPO, "configs", "simclr_digits.py"), "--workdir", str(tmp_path / "empty")]
  proc = subprocess.run(
    [sys.executable, os.path.join(REPO, "launch.py"), *args, "--eval_only"],
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )
  assert proc.returncode != 0
  lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith(("WARNING", "I0000", "W0000"))]
  assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
  assert "nothing to evaluate" in lines[0] and "no checkpoint" in lines[0]
