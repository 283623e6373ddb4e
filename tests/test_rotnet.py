"""RotNet on the spine: rotations, results.json with rotation accuracy and the random-init probe, probe layers."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import augment, train
from ssljax.errors import ConfigError
from ssljax.methods import representation, rotnet

from helpers import read_json, tiny_config


def tiny_rotnet(**overrides):
  return tiny_config("rotnet", **overrides)


def test_rotations_on_device_and_host_agree():
  images = np.random.default_rng(0).integers(0, 255, (3, 5, 5, 2)).astype(np.uint8)
  rotated, labels = jax.jit(rotnet.rotate_all)(jnp.asarray(images))
  host, host_labels = rotnet.rotated_test_set(images)
  np.testing.assert_array_equal(np.asarray(rotated), host)
  np.testing.assert_array_equal(np.asarray(labels), host_labels)
  np.testing.assert_array_equal(host_labels, np.repeat(np.arange(4), 3))
  np.testing.assert_array_equal(host[3], np.rot90(images[0]))  # label 1: 90° counter-clockwise
  np.testing.assert_array_equal(np.asarray(augment.rotate90(jnp.asarray(images[0]), 2)), host[6])


def test_run_writes_rotation_and_random_init_results(tmp_path):
  workdir = str(tmp_path / "w")
  train.train_and_evaluate(tiny_rotnet(probe_layers=("BatchNorm_1", "BatchNorm_2")), workdir, rotnet)
  out = read_json(os.path.join(workdir, "results.json"))
  assert out["method"] == "rotnet" and out["steps"] == 4
  for key in (
    "linear_probe_accuracy",
    "linear_probe_accuracy_all",
    "knn_accuracy",
    "kmeans_nmi",
    "rotation_accuracy",
    "linear_probe_accuracy_random_init",
  ):
    assert 0.0 <= out[key] <= 1.0, key
  assert out["probe_layers"] == "BatchNorm_1,BatchNorm_2"
  assert os.path.getsize(os.path.join(workdir, "tsne.png")) > 1000


def test_probe_layers_pool_inner_outputs():
  """probe_layers: inner outputs ReLU'd and pooled; BatchNorm_2 pooled is exactly the CNN's own output."""
  encoder = rotnet.common.encoder(tiny_rotnet())
  x = jax.random.uniform(jax.random.key(1), (3, 8, 8, 1))
  enc = jax.jit(lambda k: encoder.init(k, x, train=False))(jax.random.key(0))
  out = representation.encoder_features(encoder, enc, x)
  inner = representation.encoder_features(encoder, enc, x, ("BatchNorm_1", "BatchNorm_2"))
  assert out.shape == (3, 16) and inner.shape == (3, 8 + 16)
  np.testing.assert_allclose(inner[:, 8:], out, rtol=1e-5, atol=1e-6)
  with pytest.raises(ConfigError, match="not a submodule"):
    representation.encoder_features(encoder, enc, x, ("NoSuchLayer",))


def test_bad_probe_layer():
  with pytest.raises(ConfigError, match="'Conv_9' is not a submodule"):
    rotnet.build(tiny_rotnet(probe_layers=("Conv_9",)))
