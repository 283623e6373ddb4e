"""Variance-scaling initializers that draw one flat vector and reshape it.

Same distributions as `jax.nn.initializers.variance_scaling`, but a 4-D draw under
jax_threefry_partitionable (the default since jax 0.5) compiles several times
slower on XLA:CPU: jit(model.init) of WRN-28-2 took ~24 s; flat draws cut that.
"""

import math

import jax
import jax.numpy as jnp


def variance_scaling(scale: float, mode: str, distribution: str):
  """Kernel init with fans from the last two axes and the receptive field (flax/jax convention)."""

  def init(key, shape, dtype=jnp.float32):
    receptive = math.prod(shape[:-2])
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    fan = {'fan_in': fan_in, 'fan_out': fan_out, 'fan_avg': (fan_in + fan_out) / 2}[mode]
    # A [1, n] draw has fan_in 1, so its variance is exactly scale / fan.
    flat = jax.nn.initializers.variance_scaling(scale / fan, 'fan_in', distribution)
    return flat(key, (1, math.prod(shape)), dtype).reshape(shape)

  return init


lecun_normal = variance_scaling(1.0, 'fan_in', 'truncated_normal')  # flax's default kernel init.
# torch's kaiming_normal_(mode='fan_out', nonlinearity='leaky_relu') with its default slope 0:
# gain sqrt(2), untruncated, variance 2 / fan_out (the PyTorch reference WRN's init).
kaiming_normal_fan_out = variance_scaling(2.0, 'fan_out', 'normal')
xavier_normal = variance_scaling(1.0, 'fan_avg', 'normal')  # torch's xavier_normal_ (untruncated).
