"""The joint-embedding family on the spine: BYOL's momentum target, MoCo's queue, the collapse alarm, cross-key bad
input, and SIGKILL + resume of the queue, momentum networks, DINO's centre and the online probe."""

import os
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from test_methods import _restore

from ssljax import train
from ssljax.errors import ConfigError
from ssljax.methods import byol, dino, moco, representation

from helpers import LIVE, REPO, TINY, _has, load_config, read_json, run_steps, tiny_config


def test_byol_target_after_one_step_is_the_scheduled_momentum_average():
  """ξ_{k+1} = τ_k·ξ_k + (1−τ_k)·θ_{k+1} for params and BatchNorm statistics, τ_k on the cosine schedule; k = 1, as
  the warm-up gives step 0 a learning rate of 0 (the online params move from step 1 on)."""
  config = tiny_config("byol", dtype="float64", base_tau=0.9)
  s0, _ = run_steps(config, 1, 1)
  s1, m1 = run_steps(config, 1, 2)
  tau = 1.0 - (1.0 - 0.9) * (np.cos(np.pi * 1 / config.total_steps) + 1.0) / 2.0
  assert 0.9 < tau < 1.0 and float(m1[1]["tau"]) == pytest.approx(tau)
  for field in ("params", "batch_stats"):
    target0, target1 = s0.method_state["method"][field], s1.method_state["method"][field]
    online1 = representation.online_part(getattr(s1, field))
    assert set(target1) == {"encoder", "projector"}
    want = jax.tree.map(lambda t, o: tau * t + (1 - tau) * o, target0, online1)
    jax.tree.map(lambda w, g: np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15), want, target1)
    # The target did move, and not onto the online network: both terms matter.
    leaves = lambda t: np.concatenate([np.ravel(x) for x in jax.tree.leaves(t)])
    assert not np.allclose(leaves(target1), leaves(target0)) and not np.allclose(leaves(target1), leaves(online1))


def test_moco_queue_holds_the_last_keys_of_all_devices_in_global_order():
  """enqueue inside shard_map on 4 devices: after k steps the queue holds the last K keys, each step's block in
  global order (device 0's rows, then device 1's, ...), written at the pointer, which wraps around."""
  n, rows, size, dim = 4, 2, 16, 3
  if jax.device_count() < n:
    pytest.skip("needs 4 devices")
  mesh = jax.make_mesh((n,), ("data",))
  step_keys = np.random.default_rng(0).normal(size=(3, 2, n * rows, dim)).astype(np.float32)  # [step, view, row, dim]

  def per_device(local, queue, ptr, filled):
    from ssljax import parallel

    keys = jnp.stack([parallel.gather_replicated(local[v]) for v in range(2)])
    return moco.enqueue(queue, ptr, filled, keys)

  f = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(None, "data"), P(), P(), P()), out_specs=P()))
  queue, ptr, filled = np.zeros((2, size, dim), np.float32), np.int32(0), np.int32(0)
  for t in range(3):
    local = jax.device_put(step_keys[t], NamedSharding(mesh, P(None, "data")))
    queue, ptr, filled = f(local, queue, ptr, filled)
  queue = np.asarray(queue)
  np.testing.assert_array_equal(queue[:, 0:8], step_keys[2])  # step 2 wrapped around to the start
  np.testing.assert_array_equal(queue[:, 8:16], step_keys[1])
  assert int(ptr) == 8 and int(filled) == 16


def test_moco_queue_in_training_is_full_of_unit_keys():
  config = tiny_config("moco", dtype="float64")
  state, metrics = run_steps(config, 4, 3)
  ms = state.method_state["method"]
  b, size = config.batch_size, config.queue_size
  assert int(ms["ptr"]) == 3 * b % size and int(ms["filled"]) == size
  np.testing.assert_allclose(np.linalg.norm(ms["queue"], axis=-1), 1.0, rtol=1e-12)
  assert all(np.isfinite(m["loss"]) for m in metrics)


def test_collapse_alarm_fires_once_after_patience_and_names_the_knob(capsys):
  alarm = representation.CollapseAlarm(embed_dim=64, threshold=0.1, patience=100, hint="check config.base_tau")
  limit = 0.1 / 8
  alarm(50, {"embed_std": 0.5 * limit})
  alarm(100, {"embed_std": 2 * limit})  # recovered: the count restarts
  for step in (150, 200, 249):
    alarm(step, {"embed_std": 0.5 * limit})
  assert capsys.readouterr().out == ""
  alarm(250, {"embed_std": 0.5 * limit})
  alarm(300, {"embed_std": 0.1 * limit})
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 1 and "collapsed" in lines[0] and "config.base_tau" in lines[0] and "step 150" in lines[0]


def test_healthy_embedding_raises_no_alarm_and_std_is_logged():
  config = tiny_config("simsiam")
  _, metrics = run_steps(config, 1, 2)
  std = float(metrics[-1]["embed_std"])
  assert 0 < std <= 1 and 1 <= float(metrics[-1]["embed_rank"]) <= config.proj_dim


def test_moco_queue_size_not_a_multiple_of_the_batch_is_one_error_line():
  with pytest.raises(ConfigError, match=r"config\.queue_size=20 must be a multiple") as info:
    train.check_config(tiny_config("moco", queue_size=20), moco)
  assert "\n" not in str(info.value)


def test_dino_local_crop_as_large_as_the_image_is_one_error_line():
  config = tiny_config("dino", local_crop_size=8)
  train.check_config(config, dino)
  with pytest.raises(ConfigError, match=r"config\.local_crop_size=8 must be smaller than the digits images") as info:
    dino.build(config)
  assert "\n" not in str(info.value)


def test_byol_tau_outside_unit_interval_is_one_error_line():
  with pytest.raises(ConfigError, match=r"config\.base_tau must be a finite number in \[0, 1\], got 1\.5"):
    train.check_config(tiny_config("byol", base_tau=1.5), byol)


# ---------------------------------------------------------------- SIGKILL + resume


def _args(method):
  config = load_config(f"{method}_digits")
  shrink = {**TINY, **LIVE}
  return [f"--config.{k}={v}" for k, v in shrink.items() if _has(config, k)]


def _launch(*args, timeout=600):
  return subprocess.run(
    [sys.executable, os.path.join(REPO, "launch.py"), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
  )


@pytest.mark.parametrize("method", ["moco", "dino"])
def test_sigkill_and_resume_match_an_uninterrupted_run_bit_exactly(method, tmp_path):
  """MoCo: queue, key encoder and probe; DINO (with local crops): teacher, centre and probe."""
  cfg = ["--config", os.path.join(REPO, "configs", f"{method}_digits.py")]
  args = [*_args(method), "--config.total_steps=12", "--config.checkpoint_every=3", "--config.eval_every=6"]
  ref, killed = tmp_path / "ref", tmp_path / "killed"
  done = _launch(*cfg, "--workdir", str(ref), *args)
  assert done.returncode == 0, done.stderr
  proc = subprocess.Popen(
    [sys.executable, os.path.join(REPO, "launch.py"), *cfg, "--workdir", str(killed), *args],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    cwd=REPO,
  )
  from test_launch import _wait_for

  _wait_for(killed / "checkpoints" / "6", proc, timeout=600)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (killed / "results.json").exists()
  resumed = _launch(*cfg, "--workdir", str(killed), *args)
  assert resumed.returncode == 0, resumed.stderr
  assert "resumed from checkpoint" in resumed.stdout
  want, got = read_json(ref / "results.json"), read_json(killed / "results.json")
  assert 0.0 <= want["online_probe_accuracy"] <= 1.0
  for key, value in want.items():
    if key not in ("wall_seconds", "resumed_from_step"):
      assert got[key] == value, key

  config = tiny_config(method, total_steps=12, checkpoint_every=3, eval_every=6)
  a, b = _restore(str(ref), config), _restore(str(killed), config)
  jax.tree.map(np.testing.assert_array_equal, a, b)
  assert int(a.step) == 12
