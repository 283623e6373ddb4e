"""Device mesh, placement, global-batch row arithmetic and multi-host helpers.

Every train step is per-device code over the mesh axis `AXIS`. A step draws its GLOBAL batch identically on every
device and keeps its own rows, so 1 device and N devices see the same examples in the same global order.
"""

import functools
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "data"


def maybe_initialize_distributed(force: bool = False):
  """jax.distributed.initialize() for multi-host jobs: with --distributed, SSLJAX_DISTRIBUTED=1 or a coordinator.

  On TPU VMs and SLURM/MPI clusters JAX detects the processes itself; elsewhere set JAX_COORDINATOR_ADDRESS
  (host:port of process 0), SSLJAX_NUM_PROCESSES and SSLJAX_PROCESS_ID on every process.
  """
  env = os.environ
  if not (force or env.get("SSLJAX_DISTRIBUTED") == "1" or env.get("JAX_COORDINATOR_ADDRESS")):
    return
  kwargs = {}
  if "SSLJAX_NUM_PROCESSES" in env:
    kwargs["num_processes"] = int(env["SSLJAX_NUM_PROCESSES"])
  if "SSLJAX_PROCESS_ID" in env:
    kwargs["process_id"] = int(env["SSLJAX_PROCESS_ID"])
  jax.distributed.initialize(**kwargs)


def make_mesh(num_devices: int | None = None, devices=None) -> Mesh:
  """A 1-D mesh with axis `AXIS` over `devices` (default: all), or the first `num_devices` of them."""
  devices = jax.devices() if devices is None else list(devices)
  if num_devices:
    if not 1 <= num_devices <= len(devices):
      raise ValueError(f"num_devices={num_devices} but {len(devices)} devices are available")
    devices = devices[:num_devices]
  if devices[0].platform == "cpu" and len(devices) > 1:
    _check_cpu_threads(jax.local_device_count())
  return Mesh(np.array(devices), (AXIS,))


@functools.cache
def _check_cpu_threads(local_devices: int):
  """Warns once when XLA's CPU thread pool is too small for collectives over several CPU devices (docs/design.md)."""
  from ssljax import _platform

  pool = max(int(os.environ.get("NPROC") or 0) or (os.cpu_count() or 1), local_devices)
  need = _platform.threads_for(local_devices)
  if pool < need:
    warnings.warn(
      f"{local_devices} CPU devices on an XLA thread pool of {pool}: collectives can deadlock under load; "
      f"start the process with NPROC={need} (ssljax.set_cpu_devices({local_devices}) does it)",
      stacklevel=3,
    )


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  """The sharding of an array held whole on every device of the mesh."""
  return NamedSharding(mesh, P())


def put_replicated(tree, mesh: Mesh):
  """Copies host arrays whole onto every device of the mesh (across hosts, each host passes the same values)."""
  return jax.device_put(tree, replicated_sharding(mesh))


def put_rows(x: np.ndarray, mesh: Mesh):
  """Puts a host array split by its first axis over the mesh (the full array on every host)."""
  sharding = NamedSharding(mesh, P(AXIS))
  return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


# ---------------------------------------------------------------- inside shard_map


def global_index(rows_per_device: int):
  """Global positions of this device's rows: device d holds rows d·b .. d·b + b − 1 of the global batch."""
  return lax.axis_index(AXIS) * rows_per_device + jnp.arange(rows_per_device)


def local_slice(x):
  """This device's rows of a global-batch array that every device computed identically."""
  b = x.shape[0] // lax.axis_size(AXIS)
  return lax.dynamic_slice_in_dim(x, lax.axis_index(AXIS) * b, b)


def gather(x, axis: int = 0):
  """Every device's rows in global order (all_gather, tiled); differentiable: cotangents return to their owners."""
  return lax.all_gather(x, AXIS, axis=axis, tiled=True)


def gather_replicated(x, axis: int = 0):
  """gather(x) typed as replicated, for what every device keeps the same copy of (queues, global-batch statistics in
  the method state); carries no gradient."""
  return lax.all_gather(lax.stop_gradient(x), AXIS, axis=axis, tiled=True, to="invarying")


def global_mean(x, axis: int = 0):
  """Mean over the GLOBAL batch of per-device rows (equal shard sizes)."""
  return lax.pmean(jnp.mean(x, axis=axis), AXIS)


# ---------------------------------------------------------------- evaluation over host arrays


def batched_apply(fn, variables, x: np.ndarray, mesh: Mesh, batch_size: int = 1024) -> np.ndarray:
  """fn(variables, x_batch) over the rows of host array x, each chunk split over the mesh; returns numpy.

  The last chunk is padded so that there is one compile. Outputs are gathered onto every device, so every host
  can read them.
  """
  n = len(x)
  chunk = min(batch_size, -(-n // mesh.size) * mesh.size)
  chunk = -(-chunk // mesh.size) * mesh.size
  mapped = _sharded_fn(fn, mesh)
  outs = []
  for start in range(0, n, chunk):
    part = x[start : start + chunk]
    pad = chunk - len(part)
    if pad:
      part = np.concatenate([part, np.zeros((pad,) + part.shape[1:], part.dtype)])
    out = jax.device_get(mapped(variables, put_rows(part, mesh)))
    outs.append(jax.tree.map(lambda o, keep=chunk - pad: o[:keep], out))
  return jax.tree.map(lambda *o: np.concatenate(o), *outs)


_SHARDED_CACHE = {}


def _sharded_fn(fn, mesh):
  key = (fn, mesh)
  if key not in _SHARDED_CACHE:
    gathered = lambda v, x: jax.tree.map(lambda o: lax.all_gather(o, AXIS, tiled=True, to="invarying"), fn(v, x))
    _SHARDED_CACHE[key] = jax.jit(jax.shard_map(gathered, mesh=mesh, in_specs=(P(), P(AXIS)), out_specs=P()))
  return _SHARDED_CACHE[key]
