"""Test-session setup, before JAX starts: 8 fake CPU devices (the sharding tests compare 1 device with 2, 4 and 8),
and a persistent compilation cache shared by the tests and the launch.py subprocesses they start (XLA:CPU compiles
dominate the suite's time; the same step is compiled by several tests)."""

import os
import tempfile

_flag = "--xla_force_host_platform_device_count=8"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_flag}".strip()
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "ssljax-test-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import ssljax  # noqa: E402,F401  (adds the XLA:CPU flags and sizes the thread pool for the devices)
