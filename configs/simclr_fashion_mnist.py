r"""SimCLR on Fashion-MNIST: configs/simclr_digits.py's network and optimiser with SimCLR's own views (crop, flip,
jitter), 1200 steps of 256 (~5 epochs), then the representation evaluation (probe on 250 labels and on all, kNN,
NMI); ~40 CPU-min (the evaluation on 60,000 + 10,000 images is ~10 of them).

python launch.py --config configs/simclr_fashion_mnist.py --workdir /tmp/simclr_fashion_mnist
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="simclr",
    dataset="fashion_mnist",
    model="cnn",
    num_labels=250,
    total_steps=1200,
    batch_size=256,
    eval_every=1200,
    checkpoint_every=250,
    optimizer="lars",
    lr=1.0,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.model_kwargs.width = 16  # 64-d features
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 120
  config.temperature = 0.5
  config.num_views = 2
  config.proj_dim = 64
  config.proj_hidden_dim = 0  # 0: the encoder's feature dim
  # crops of at least 20% of 28×28 (SimCLR's 8% leaves 8×8 px), jitter strength 0.5 as in SimCLR's CIFAR recipe
  config.augment = config_base.augment(view="simclr", strength=0.5, crop_area=(0.2, 1.0), blur=False, cutout=0.0)
  return config_base.pretraining(config)
