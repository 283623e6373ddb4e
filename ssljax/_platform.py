"""Process-level setup that must happen before JAX initialises its backends (XLA reads its settings once)."""

import os
import re

# Eigen's convolutions instead of YNNPACK's on XLA:CPU: conv-net train steps ran ~2.5x faster (docs/design.md).
# The flag only touches the CPU backend, so it is harmless on GPU/TPU hosts.
CPU_FLAGS = ("--xla_cpu_experimental_ynn_fusion_type=-individual_convolution",)


def threads_for(num_devices: int) -> int:
  """XLA:CPU threads that several CPU devices need so that collectives cannot deadlock: each device can hold two
  pool threads blocked at once (a collective and its caller), plus one per core to make progress (docs/design.md)."""
  return 2 * num_devices + (os.cpu_count() or 1)


def forced_device_count(xla_flags: str) -> int:
  match = re.search(r"--xla_force_host_platform_device_count=(\d+)", xla_flags)
  return int(match.group(1)) if match else 1


def configure_xla_cpu():
  """Appends the CPU flags to XLA_FLAGS unless the user set them (or SSLJAX_NO_XLA_FLAGS=1), and sizes XLA's CPU
  thread pool (NPROC, unless set) for the number of CPU devices XLA_FLAGS asks for."""
  if os.environ.get("SSLJAX_NO_XLA_FLAGS") == "1":
    return
  flags = os.environ.get("XLA_FLAGS", "")
  for flag in CPU_FLAGS:
    name = flag.split("=")[0]
    if name not in flags:
      flags = f"{flags} {flag}".strip()
  os.environ["XLA_FLAGS"] = flags
  num_devices = forced_device_count(flags)
  if num_devices > 1 and "NPROC" not in os.environ:
    os.environ["NPROC"] = str(threads_for(num_devices))


def set_cpu_devices(num_devices: int):
  """N CPU devices for this process (one per core lets each run its shard of a sharded computation): call it before
  the first JAX computation. Sets jax_num_cpu_devices and the thread pool those devices need."""
  import jax

  if "NPROC" not in os.environ:
    os.environ["NPROC"] = str(threads_for(num_devices))
  jax.config.update("jax_num_cpu_devices", num_devices)
