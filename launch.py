r"""Runs one ssljax job from a source checkout: python launch.py --config configs/X.py --workdir DIR [--config.k=v].

The same as `ssljax-launch` / `python -m ssljax.launch` (ssljax/launch.py).
"""

import sys

from ssljax import launch

if __name__ == "__main__":
  launch.main(sys.argv)
