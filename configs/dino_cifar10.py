r"""DINO on CIFAR-10, solo-learn's recipe (scripts/pretrain/cifar/dino.yaml); solo-learn reports 89.52% online
linear accuracy (ResNet-18, 1000 epochs = 195k steps of batch 256: a GPU job, not a CPU one).

  python launch.py --config configs/dino_cifar10.py --workdir /tmp/dino_cifar10 \
      --config.data_dir=~/tensorflow_datasets

LARS lr 0.3, wd 1e-6, 10 warm-up epochs then cosine; head 2048 → bottleneck 256 → 4096 weight-normalised
prototypes; student τ 0.1, teacher τ 0.07 (solo-learn's default: no warm-up from 0.04), centre momentum 0.9;
teacher momentum 0.9995 → 1.0; 2 global crops and no local crops, as solo-learn's CIFAR runs (set
num_local_crops for multi-crop).
"""

from ssljax import config_base

EPOCHS = 1000
WARMUP_EPOCHS = 10
TRAIN_IMAGES = 50_000
BATCH = 256
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH


def get_config():
  config = config_base.common(
    method="dino",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    batch_size=BATCH,
    eval_every=20_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="lars",
    lr=0.3,
    momentum=0.9,
    nesterov=False,
    weight_decay=1e-6,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = WARMUP_EPOCHS * STEPS_PER_EPOCH
  config.trust_coefficient = 0.02  # LARS eta; biases and BatchNorm parameters excluded (optim.kernel_mask)
  config.base_tau = 0.9995
  config.final_tau = 1.0
  config.student_temp = 0.1
  config.teacher_temp = 0.07
  config.warmup_teacher_temp = 0.04
  config.teacher_temp_warmup_steps = 0
  config.center_momentum = 0.9
  config.num_prototypes = 4096
  config.proj_dim = 256
  config.proj_hidden_dim = 2048
  config.num_local_crops = 0
  config.local_crop_size = 16
  config.local_crop_area = (0.05, 0.4)
  # asymmetric.yaml: no blur on CIFAR; solarisation only on the second view.
  config.augment = config_base.augment(
    view="jitter",
    crop_area=(0.08, 1.0),
    brightness=0.4,
    contrast=0.4,
    saturation=0.2,
    hue=0.1,
    jitter_prob=0.8,
    gray_prob=0.2,
    blur_prob=(0.0, 0.0),
    solarize_prob=(0.0, 0.2),
  )
  return config_base.pretraining(config)
