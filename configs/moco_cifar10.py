r"""MoCo v2+ on CIFAR-10, solo-learn's recipe (scripts/pretrain/cifar/mocov2plus.yaml); solo-learn reports 92.94% online
linear accuracy (ResNet-18, 1000 epochs = 195k steps of batch 256: a GPU job, not a CPU one).

  python launch.py --config configs/moco_cifar10.py --workdir /tmp/moco_cifar10 \
      --config.data_dir=~/tensorflow_datasets

SGD lr 0.3 (momentum 0.9), wd 1e-4, 10 warm-up epochs then cosine; projector 2048→256 (no BatchNorm); queue
32768 keys per view; τ 0.2; key-encoder momentum 0.99 → 0.999 on the cosine schedule; symmetric loss.
"""

from ssljax import config_base

EPOCHS = 1000
WARMUP_EPOCHS = 10
TRAIN_IMAGES = 50_000
BATCH = 256
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH


def get_config():
  config = config_base.common(
    method="moco",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    batch_size=BATCH,
    eval_every=20_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="sgd",
    lr=0.3,
    momentum=0.9,
    nesterov=False,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = WARMUP_EPOCHS * STEPS_PER_EPOCH
  config.temperature = 0.2
  config.queue_size = 32768
  config.base_tau = 0.99
  config.final_tau = 0.999
  config.proj_dim = 256
  config.proj_hidden_dim = 2048
  # symmetric_weak.yaml.
  config.augment = config_base.augment(
    view="jitter",
    crop_area=(0.08, 1.0),
    brightness=0.4,
    contrast=0.4,
    saturation=0.4,
    hue=0.1,
    jitter_prob=0.8,
    gray_prob=0.2,
    blur_prob=(0.5, 0.5),
    solarize_prob=(0.0, 0.0),
  )
  return config_base.pretraining(config)
