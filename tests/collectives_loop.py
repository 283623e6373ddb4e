"""A tight loop of a small multi-device program (a convolution and its gradient, pmean, psum): the quickest way to
drive XLA:CPU's collectives hard. Run by tests/test_stress.py in a subprocess; prints 'ok' when every step ran."""

import sys
import time

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import ssljax  # noqa: F401  (sizes XLA's CPU thread pool for the devices XLA_FLAGS asks for)


def conv(x, w):
  return lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def step(w, x):
  g = lax.pmean(jax.grad(lambda w: jnp.mean(jnp.tanh(conv(x, w))))(w), "data")
  return w - 0.01 * g + 0.0 * lax.psum(jnp.mean(conv(x, w)), "data")


def main(steps: int):
  n = jax.device_count()
  mesh = jax.make_mesh((n,), ("data",))
  f = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(P(), P("data")), out_specs=P()))
  w = jax.device_put(jnp.full((3, 3, 16, 32), 0.01), NamedSharding(mesh, P()))
  x = jax.device_put(jnp.ones((n * 32, 16, 16, 16)), NamedSharding(mesh, P("data")))
  start = time.time()
  for _ in range(steps):
    w = f(w, x)
  w.block_until_ready()
  print(f"ok {n} devices, {steps} steps in {time.time() - start:.1f} s", flush=True)


if __name__ == "__main__":
  main(int(sys.argv[1]))
