"""Every config loads, carries the common knobs, and names a known method, dataset and model."""

import pytest

from ssljax import configs, data, jobs, models
from ssljax.train import COMMON_KEYS

from helpers import load_config

CONFIGS = configs.names()


@pytest.mark.parametrize("name", CONFIGS)
def test_config(name):
  config = load_config(name)
  assert config.method in jobs.names()
  assert config.dataset in data.DATASETS + data.TEXT_DATASETS
  if config.method != "cluster_demo":
    for key in COMMON_KEYS:
      assert key in config, key
    assert config.model in models.ENCODERS
    jobs.check(config)  # a training method's checks, or a pipeline's (its own and its stages')


def test_fixmatch_cifar10_is_the_paper_recipe():
  c = load_config("fixmatch_cifar10")
  assert (
    c.model,
    c.lr,
    c.momentum,
    c.nesterov,
    c.weight_decay,
    c.batch_size,
    c.mu,
    c.threshold,
    c.lambda_u,
    c.total_steps,
    c.schedule,
    c.ema_decay,
  ) == ("wrn28_2", 0.03, 0.9, True, 5e-4, 64, 7, 0.95, 1.0, 2**20, "fixmatch_cosine", 0.999)
