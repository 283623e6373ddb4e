r"""Colorization (Zhang et al., 2016: classification over ab bins with class rebalancing, annealed-mean decoding) on
the colour photographs scikit-learn and scikit-image ship: random 32x32 crops of 6 photographs, 3 whole photographs
held out; no class labels, so the colour figures only; ~4 CPU-min.

python launch.py --config configs/colorization_photos.py --workdir /tmp/colorization_photos
"""

from ssljax import config_base


def get_config():
  config = config_base.pretext("colorization", "photos", batch_size=32, checkpoint_every=500)
  config.model_kwargs.width = 16
  config.decoder_width = 32
  config.loss = "classification"
  config.crop_size = 32
  config.rebalance_lambda = 0.5
  config.temperature = 0.38
  return config
