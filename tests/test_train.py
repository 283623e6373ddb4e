"""The training spine: N devices == 1 device, gradient convention, finished runs, non-finite loss, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from PIL import Image
from test_methods import assert_trees_close

from ssljax import checkpoint, parallel, train
from ssljax.errors import ConfigError, NonFiniteLossError
from ssljax.methods import fixmatch

from helpers import read_json, run_steps, tiny_config, tiny_fixmatch


@pytest.mark.parametrize("num_devices", [2, 4, 8])
def test_n_devices_match_one_device(num_devices):
  """FixMatch, the fullest step (three views, thresholds, pseudo-labels, EMA), in float64 on 1 and N devices; the
  tolerance is argued in tests/test_methods.py."""
  if jax.device_count() < num_devices:
    pytest.skip(f"needs {num_devices} devices")
  config = tiny_config("fixmatch", dtype="float64")
  s1, m1 = run_steps(config, 1, 3)
  sn, mn = run_steps(config, num_devices, 3)
  assert m1[0]["unsup_loss"] > 0 and m1[0]["mask_rate"] == 1.0  # the unlabelled term is live from step 0
  for a, b in zip(m1, mn):
    assert_trees_close(a, b, 1e-9, "metrics")
  for field in ("params", "batch_stats", "ema_params", "opt_state"):
    assert_trees_close(getattr(s1, field), getattr(sn, field), 1e-9, field)


def test_gradient_convention_gives_global_mean_gradient():
  """Per-device loss/n under shard_map equals the gradient of the global-batch mean loss (no N× trap)."""
  mesh = parallel.make_mesh(4)
  with jax.enable_x64(True):
    w = jnp.array([1.0, -2.0, 0.5])
    x = jnp.arange(24.0).reshape(8, 3) / 10

    def local_loss(w, x):
      return jnp.mean((x @ w) ** 2)

    def per_device(w, x):
      return jax.grad(lambda w: local_loss(w, x) / jax.lax.axis_size("data"))(w)

    got = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P("data")), out_specs=P()))(w, x)
    np.testing.assert_allclose(got, jax.grad(local_loss)(w, x), rtol=1e-12)


def test_finished_run_is_not_trained_again_and_logs(tmp_path, capsys):
  config = tiny_fixmatch()
  a = str(tmp_path / "a")
  results = train.train_and_evaluate(config, a, fixmatch)
  assert read_json(f"{a}/results.json") == results and 0.0 <= results["test_accuracy"] <= 1.0
  out = capsys.readouterr().out
  assert "mask_rate" in out and "img/s" in out and "ETA" in out
  with Image.open(f"{a}/curves.png") as im:  # every logged scalar against step
    pixels = np.asarray(im.convert("L"))
  assert im.size[0] >= 600 and im.size[1] >= 400 and len(np.unique(pixels)) > 10
  again = train.train_and_evaluate(config, a, fixmatch)
  assert again == results
  assert "already finished" in capsys.readouterr().out


def test_median_of_last_five_evaluations(tmp_path):
  config = tiny_fixmatch(total_steps=6, eval_every=1, checkpoint_every=3)
  results = train.train_and_evaluate(config, str(tmp_path), fixmatch)
  meta = checkpoint.Checkpoints(str(tmp_path / "checkpoints"), config)
  history = meta.read_meta(6)["eval_history"]
  meta.close()
  assert [h["step"] for h in history] == [1, 2, 3, 4, 5]  # every evaluation during training, in the checkpoint
  want = np.median([h["test_accuracy"] for h in history[1:]] + [results["test_accuracy"]])
  assert results["test_accuracy_median_last5"] == pytest.approx(want)


def test_median_helper():
  history = [{"test_accuracy": v} for v in (0.1, 0.9, 0.5, 0.7, 0.3, 0.2)]
  assert train.median_of_last(history) == 0.5  # of 0.9, 0.5, 0.7, 0.3, 0.2
  assert train.median_of_last([{"loss": 1.0}]) is None


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_fixmatch(lr=1e30, total_steps=6)
  with pytest.raises(NonFiniteLossError, match=r"non-finite loss .* at step \d+"):
    train.train_and_evaluate(config, str(tmp_path), fixmatch)
  assert not (tmp_path / "results.json").exists()


def test_batch_not_divisible_by_devices(tmp_path):
  with pytest.raises(ConfigError, match="divisible"):
    train.train_and_evaluate(tiny_fixmatch(batch_size=6, num_devices=4), str(tmp_path / "w"), fixmatch)
  assert not (tmp_path / "w").exists()  # nothing written for a config that cannot run


@pytest.mark.parametrize("key, value", [("total_steps", 0), ("dtype", "float16"), ("ema_decay", 1.0), ("seed", -1)])
def test_bad_common_value_is_one_error_line_before_the_workdir_is_touched(tmp_path, key, value):
  config = tiny_fixmatch()
  with config.ignore_type():
    config[key] = value
  with pytest.raises(ConfigError, match=f"config.{key}") as info:
    train.train_and_evaluate(config, str(tmp_path / "w"), fixmatch)
  assert "\n" not in str(info.value)
  assert not (tmp_path / "w").exists()


def test_fixmatch_on_mocked_tfds_cifar10(tmp_path):
  """The tfds path end to end (offline: tfds.testing.mock_data makes random CIFAR-shaped records)."""
  import tensorflow_datasets as tfds

  config = tiny_fixmatch(
    dataset="cifar10",
    num_labels=20,
    total_steps=2,
    checkpoint_every=2,
    **{
      "augment.weak_shift": 4.0,
      "augment.strong_shift": 4.0,
      "augment.strong_style": "randaugment",
      "augment.weak_noise": 0.0,
    },
  )
  with tfds.testing.mock_data(num_examples=120):
    results = train.train_and_evaluate(config, str(tmp_path), fixmatch)
  assert results["dataset"] == "cifar10" and results["num_classes"] == 10 and results["steps"] == 2
