"""ssljax: semi-, self- and unsupervised learning in JAX."""

from ssljax import _platform

_platform.configure_xla_cpu()

__version__ = "0.1.0"
