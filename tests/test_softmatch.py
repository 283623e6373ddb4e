"""SoftMatch: the truncated Gaussian weights and the EMA statistics with uniform alignment against plain float64
loops; a batch too small for a variance is one error line."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssljax import losses, train
from ssljax.errors import ConfigError
from ssljax.methods import softmatch

from helpers import tiny_config


def test_weights_match_loop():
  conf = np.array([0.1, 0.4, 0.6, 0.7, 0.95])
  mean, var, n = 0.6, 0.04, 2.0
  expected = [math.exp(-((c - mean) ** 2) / (2 * var / n**2)) if c < mean else 1.0 for c in conf]
  with jax.enable_x64(True):
    np.testing.assert_allclose(losses.softmatch_weights(jnp.asarray(conf), mean, var, n), expected, rtol=1e-12)


@pytest.mark.parametrize("align", [True, False])
def test_statistics_match_loop(align):
  rng = np.random.default_rng(0)
  decay, c = 0.9, 4
  with jax.enable_x64(True):
    stats = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), softmatch.init_statistics(c))
    p_model, mean, var = None, 1.0 / c, 1.0
    for step in range(3):
      probs = np.asarray(jax.nn.softmax(rng.normal(size=(10, c)) * 2.0), np.float64)
      stats, aligned = softmatch.update_statistics(stats, jnp.asarray(probs), decay, step == 0, align)
      batch_mean = probs.mean(0)
      p_model = batch_mean if p_model is None else decay * p_model + (1 - decay) * batch_mean
      rows = [[p[k] * (1 / c) / p_model[k] for k in range(c)] for p in probs] if align else probs.tolist()
      rows = [[v / sum(r) for v in r] for r in rows]
      conf = [max(r) for r in rows]
      m = sum(conf) / len(conf)
      mean = decay * mean + (1 - decay) * m
      var = decay * var + (1 - decay) * sum((x - m) ** 2 for x in conf) / (len(conf) - 1)
      np.testing.assert_allclose(stats["p_model"], p_model, rtol=1e-12)
      np.testing.assert_allclose(aligned, rows, rtol=1e-12)
      np.testing.assert_allclose([stats["mean"], stats["var"]], [mean, var], rtol=1e-12)


def test_one_unlabelled_example_per_step_is_one_error_line():
  config = tiny_config("softmatch", batch_size=1, mu=1)
  with pytest.raises(ConfigError, match="mu \\* batch_size") as info:
    train.check_config(config, softmatch)
  assert "\n" not in str(info.value)
