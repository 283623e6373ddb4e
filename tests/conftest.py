"""Test-session setup: 4 fake CPU devices (sharding tests compare 1 device with 4), set before JAX starts."""
import os

_flag = "--xla_force_host_platform_device_count=4"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_flag}".strip()

import ssljax  # noqa: E402,F401  (adds the XLA:CPU conv flag)
