"""Device mesh, placement and multi-host helpers. Every train step is per-device code over the axis 'data'."""

import os

import jax
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


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D mesh over all (or the first `num_devices`) devices, with axis name 'data'."""
  devices = jax.devices()
  if num_devices is not None:
    if not 1 <= num_devices <= len(devices):
      raise ValueError(f"num_devices={num_devices} but {len(devices)} devices are available")
    devices = devices[:num_devices]
  return Mesh(np.array(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def replicate(tree, mesh: Mesh):
  """Puts host arrays on every device of the mesh (across hosts, each host passes the same values)."""
  return jax.device_put(tree, replicated(mesh))


def shard_rows(x: np.ndarray, mesh: Mesh):
  """Puts a host array sharded by its first axis over the mesh (the full array on every host)."""
  sharding = NamedSharding(mesh, P(AXIS))
  return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def local_slice(x):
  """This device's rows of a global-batch array computed identically on every device (inside shard_map).

  Sampling the global batch on every device and slicing it makes the same global batch, and so the same result,
  on 1 or N devices.
  """
  n = lax.axis_size(AXIS)
  b = x.shape[0] // n
  return lax.dynamic_slice_in_dim(x, lax.axis_index(AXIS) * b, b)


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
    out = jax.device_get(mapped(variables, shard_rows(part, mesh)))
    outs.append(jax.tree.map(lambda o, keep=chunk - pad: o[:keep], out))
  return jax.tree.map(lambda *o: np.concatenate(o), *outs)


_SHARDED_CACHE = {}


def _sharded_fn(fn, mesh):
  key = (fn, mesh)
  if key not in _SHARDED_CACHE:
    gathered = lambda v, x: jax.tree.map(lambda o: lax.all_gather(o, AXIS, tiled=True, to="invarying"), fn(v, x))
    _SHARDED_CACHE[key] = jax.jit(jax.shard_map(gathered, mesh=mesh, in_specs=(P(), P(AXIS)), out_specs=P()))
  return _SHARDED_CACHE[key]
