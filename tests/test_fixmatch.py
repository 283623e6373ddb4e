"""FixMatch's loss, EMA warm-up and optimiser pieces."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ssljax import losses, optim
from ssljax.state import ema_decay, update_ema

from helpers import load_config


def test_fixmatch_loss_masks_and_stops_gradient():
  weak = jnp.array([[10.0, 0.0, 0.0], [0.1, 0.0, 0.0]])  # confident (p≈1.0) / not (p≈0.36)
  strong = jnp.array([[0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
  loss, mask, pseudo = losses.fixmatch_loss(weak, strong, threshold=0.95)
  np.testing.assert_array_equal(mask, [1.0, 0.0])
  np.testing.assert_array_equal(pseudo, [0, 0])
  expected = -jax.nn.log_softmax(strong[0])[0] / 2  # mean over the batch, masked example counts as 0
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  g_weak = jax.grad(lambda w: losses.fixmatch_loss(w, strong, 0.95)[0])(weak)
  np.testing.assert_array_equal(g_weak, 0.0)  # no gradient through the pseudo-label


def test_ema_warmup_and_update():
  np.testing.assert_allclose(ema_decay(jnp.asarray(0), 0.999), 0.1)
  np.testing.assert_allclose(ema_decay(jnp.asarray(10**6), 0.999), 0.999)
  ema = update_ema({"w": jnp.zeros(2)}, {"w": jnp.ones(2)}, jnp.asarray(0), 0.999)
  np.testing.assert_allclose(ema["w"], 0.9)


def test_schedule_and_weight_decay_on_kernels_only():
  config = load_config("fixmatch_digits", total_steps=100)
  lr = optim.schedule(config)
  np.testing.assert_allclose(lr(0), 0.03)
  np.testing.assert_allclose(lr(100), 0.03 * np.cos(7 * np.pi / 16), rtol=1e-6)
  params = {"conv": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}, "bn": {"scale": jnp.ones(2)}}
  assert optim.kernel_mask(params) == {"conv": {"kernel": True, "bias": False}, "bn": {"scale": False}}
  tx = optim.make(load_config("fixmatch_digits", momentum=0.0, nesterov=False))
  zero = jax.tree.map(jnp.zeros_like, params)
  updates, _ = tx.update(zero, tx.init(params), params)
  np.testing.assert_allclose(updates["conv"]["kernel"], -0.03 * 5e-4)  # L2 gradient on kernels
  np.testing.assert_array_equal(updates["conv"]["bias"], 0.0)
  np.testing.assert_array_equal(updates["bn"]["scale"], 0.0)
  assert isinstance(tx, optax.GradientTransformation)
