r"""SimCLR on Fashion-MNIST: configs/simclr_digits.py's network and optimiser with SimCLR's own views (crop, flip,
jitter), 1200 steps of 256 (~5 epochs), then the representation evaluation (probe on 250 labels and on all, kNN,
NMI); ~30 CPU-min (the evaluation on 60,000 + 10,000 images is ~10 of them).

python launch.py --config configs/simclr_fashion_mnist.py --workdir /tmp/simclr_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.simclr_cnn("fashion_mnist", num_labels=250, total_steps=1200, eval_every=1200, warmup_steps=120)
  # crops of at least 20% of 28×28 (SimCLR's 8% leaves 8×8 px), jitter strength 0.5 as in SimCLR's CIFAR recipe
  config.augment = config_base.augment(view="simclr", strength=0.5, crop_area=(0.2, 1.0), blur=False, cutout=0.0)
  return config
