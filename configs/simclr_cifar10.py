r"""SimCLR on CIFAR-10, the paper's CIFAR-10 recipe (Chen et al., 2020, appendix B.9).

  python launch.py --config configs/simclr_cifar10.py --workdir /tmp/simclr_cifar10 \
      --config.data_dir=~/tensorflow_datasets

Paper figure: 94.0% linear evaluation accuracy on CIFAR-10 with a ResNet-50 trained 1000 epochs (appendix B.9);
this config uses the ResNet-18 of the common CIFAR reproductions, so expect a few points less. The paper's linear
eval trains a linear layer with SGD on all 50k labels (no augmentation, 100 epochs): the closest figure here is
`linear_probe_accuracy_all` (logistic regression on standardised frozen features); `linear_probe_accuracy` uses the
num_labels subset (the FixMatch draw).

Recipe: ResNet-18 with the CIFAR stem (3×3 stride-1 conv, no max-pool), projection MLP with BatchNorm to 128-d;
batch 512; 1000 epochs = 1000·50000/512 steps; LARS (momentum 0.9, trust coefficient 0.001), lr 1.0 × B/256 = 2.0,
10 warm-up epochs then cosine to 0; weight decay 1e-4; BatchNorm parameters and biases excluded from weight decay and
from the LARS adaptation; global BatchNorm; temperature 0.5. Views: random resized crop (area 0.08–1, aspect
3/4–4/3), horizontal flip, colour jitter s=0.5 with p=0.8, grayscale p=0.2, no blur on CIFAR.
Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base

EPOCHS = 1000
WARMUP_EPOCHS = 10
TRAIN_IMAGES = 50_000
BATCH = 512


def get_config():
  config = config_base.common(
    method="simclr",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * TRAIN_IMAGES // BATCH,
    batch_size=BATCH,
    eval_every=10_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="lars",
    lr=1.0 * BATCH / 256,
    momentum=0.9,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = WARMUP_EPOCHS * TRAIN_IMAGES // BATCH
  config.temperature = 0.5
  config.num_views = 2
  config.proj_dim = 128
  config.proj_hidden_dim = 0  # 0: the encoder's feature dim (512)
  config.augment = config_base.augment(
    view="simclr", strength=0.5, crop_area=(0.08, 1.0), blur=False, strong_shift=4.0, cutout=0.5
  )
  return config_base.pretraining(config)
