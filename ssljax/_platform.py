"""Process-level setup that must happen before JAX initialises its backends."""

import os

# jaxlib 0.10 sends XLA:CPU convolutions to YNNPACK, which made conv-net train steps 2.5x slower on the
# development CPUs (../shared/PLATFORM-NOTES.md); Eigen convolutions are used instead. The flag only touches the
# CPU backend, so it is harmless on GPU/TPU hosts. XLA reads XLA_FLAGS once, when the first backend starts.
CPU_FLAGS = ("--xla_cpu_experimental_ynn_fusion_type=-individual_convolution",)


def configure_xla_cpu():
  """Appends the CPU flags to XLA_FLAGS unless the user set them (or SSLJAX_NO_XLA_FLAGS=1)."""
  if os.environ.get("SSLJAX_NO_XLA_FLAGS") == "1":
    return
  flags = os.environ.get("XLA_FLAGS", "")
  for flag in CPU_FLAGS:
    name = flag.split("=")[0]
    if name not in flags:
      flags = f"{flags} {flag}".strip()
  os.environ["XLA_FLAGS"] = flags
