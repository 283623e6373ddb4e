"""ssljax: semi-, self- and unsupervised learning in JAX."""

from ssljax import _platform

_platform.configure_xla_cpu()
set_cpu_devices = _platform.set_cpu_devices

__version__ = "0.1.0"
