"""ssljax: semi-, self- and unsupervised learning in JAX."""

import setuptools

setuptools.setup(
  name="ssljax",
  version="0.1.0",
  description="Semi-, self- and unsupervised learning in JAX: FixMatch, MixMatch, SimCLR, RotNet, k-means, GMM.",
  packages=setuptools.find_packages(include=["ssljax", "ssljax.*"]),
  python_requires=">=3.10",
  install_requires=[
    "jax>=0.8.0",
    "flax>=0.10.0",
    "optax>=0.2.4",
    "chex>=0.1.88",
    "orbax-checkpoint>=0.11.0",
    "ml-collections>=1.0.0",
    "tensorflow-datasets>=4.9.7",
    "array_record>=0.7.0",
    "dm-pix>=0.4.3",
    "scikit-learn>=1.5",
    "numpy>=1.26",
    "matplotlib>=3.8",
    "pillow>=10",
    "tensorboard>=2.16",
    "absl-py>=2.1",
    "etils[epath]>=1.7",
  ],
  extras_require={
    "test": ["pytest>=8", "pytest-xdist>=3.5"],
  },
)
