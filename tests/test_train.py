"""The training spine: 1 vs 4 devices, gradient convention, resume, results, non-finite loss."""

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import read_json, run_steps, tiny_fixmatch
from jax.sharding import PartitionSpec as P

from ssljax import parallel, train
from ssljax.checkpoint import Checkpoints
from ssljax.errors import ConfigError, NonFiniteLossError
from ssljax.methods import fixmatch


def test_four_devices_match_one_device():
  assert jax.device_count() == 4
  task = fixmatch.build(tiny_fixmatch(threshold=0.0))  # τ=0 so the unlabelled loss is live from step 0
  s1, m1 = run_steps(task, 1, 3)
  s4, m4 = run_steps(task, 4, 3)
  assert m1[0]["unsup_loss"] > 0
  for a, b in zip(m1, m4):
    for k in a:
      np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=2e-5, err_msg=k)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5), s1.params, s4.params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5), s1.batch_stats, s4.batch_stats)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5), s1.ema_params, s4.ema_params)


def test_gradient_convention_gives_global_mean_gradient():
  """Per-device loss/n under shard_map equals the gradient of the global-batch mean loss (no N× trap)."""
  mesh = parallel.make_mesh(4)
  w = jnp.array([1.0, -2.0, 0.5])
  x = jnp.arange(24.0).reshape(8, 3) / 10

  def local_loss(w, x):
    return jnp.mean((x @ w) ** 2)

  def per_device(w, x):
    return jax.grad(lambda w: local_loss(w, x) / jax.lax.axis_size("data"))(w)

  got = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P("data")), out_specs=P()))(w, x)
  np.testing.assert_allclose(got, jax.grad(local_loss)(w, x), rtol=1e-6)


def _final_params(workdir, config):
  task = fixmatch.build(config)
  like = train.init_state(task, config.seed)
  ckpts = Checkpoints(os.path.join(workdir, "checkpoints"), config)
  state = ckpts.restore(ckpts.latest_step(), like)
  ckpts.close()
  return jax.device_get(state)


def test_run_resume_and_finished(tmp_path, capsys):
  config = tiny_fixmatch()
  a = str(tmp_path / "a")
  results = train.train_and_evaluate(config, a, fixmatch.build)
  on_disk = read_json(os.path.join(a, "results.json"))
  for key in ("method", "dataset", "num_labels", "seed", "steps", "num_devices", "test_accuracy", "wall_seconds"):
    assert key in on_disk, key
  assert on_disk["steps"] == 4 and on_disk["num_devices"] == 4 and on_disk["method"] == "fixmatch"
  assert 0.0 <= on_disk["test_accuracy"] <= 1.0
  assert any(f.startswith("events.out.tfevents") for f in os.listdir(a))
  out = capsys.readouterr().out
  assert "mask_rate" in out and "img/s" in out and "ETA" in out

  # A finished run reports its results without training.
  again = train.train_and_evaluate(config, a, fixmatch.build)
  assert again == on_disk
  assert "already finished" in capsys.readouterr().out

  # Losing the last checkpoint (a kill between saves) and resuming from step 2 gives bit-identical parameters.
  b = str(tmp_path / "b")
  shutil.copytree(a, b)
  shutil.rmtree(os.path.join(b, "checkpoints", "4"))
  os.remove(os.path.join(b, "results.json"))
  resumed = train.train_and_evaluate(config, b, fixmatch.build)
  assert "resumed from checkpoint at step 2" in capsys.readouterr().out
  assert resumed["test_accuracy"] == results["test_accuracy"]
  pa, pb = _final_params(a, config), _final_params(b, config)
  jax.tree.map(np.testing.assert_array_equal, pa.params, pb.params)
  jax.tree.map(np.testing.assert_array_equal, pa.ema_params, pb.ema_params)
  jax.tree.map(np.testing.assert_array_equal, pa.opt_state, pb.opt_state)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_fixmatch(lr=1e30, total_steps=6)
  with pytest.raises(NonFiniteLossError, match=r"non-finite loss .* at step \d+"):
    train.train_and_evaluate(config, str(tmp_path), fixmatch.build)
  assert not os.path.exists(tmp_path / "results.json")


def test_batch_not_divisible_by_devices(tmp_path):
  with pytest.raises(ConfigError, match="divisible"):
    train.train_and_evaluate(tiny_fixmatch(batch_size=6), str(tmp_path), fixmatch.build)


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
    results = train.train_and_evaluate(config, str(tmp_path), fixmatch.build)
  assert results["dataset"] == "cifar10" and results["num_classes"] == 10 and results["steps"] == 2


def test_supervised_mixup_four_devices_match_one_device():
  from helpers import load_config

  from ssljax.methods import supervised

  config = load_config("supervised_digits", batch_size=8, total_steps=2, **{"model_kwargs.width": 4})
  task = supervised.build(config)
  s1, m1 = run_steps(task, 1, 2)
  s4, m4 = run_steps(task, 4, 2)
  for a, b in zip(m1, m4):
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=2e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5), s1.params, s4.params)
