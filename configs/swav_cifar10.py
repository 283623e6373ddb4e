r"""SwAV on CIFAR-10, solo-learn's recipe (scripts/pretrain/cifar/swav.yaml); solo-learn reports 89.17% online
linear accuracy (ResNet-18, 1000 epochs = 195k steps of batch 256: a GPU job, not a CPU one).

  python launch.py --config configs/swav_cifar10.py --workdir /tmp/swav_cifar10 \
      --config.data_dir=~/tensorflow_datasets

LARS lr 0.6, wd 1e-6, 10 warm-up epochs then cosine; projector 2048→128, 3000 prototypes; τ 0.1; Sinkhorn
ε 0.05, 3 iterations; prototypes frozen for 2 epochs; a queue of 3840 embeddings per view from epoch 50.
"""

from ssljax import config_base

EPOCHS = 1000
WARMUP_EPOCHS = 10
TRAIN_IMAGES = 50_000
BATCH = 256
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH


def get_config():
  config = config_base.common(
    method="swav",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    batch_size=BATCH,
    eval_every=20_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="lars",
    lr=0.6,
    momentum=0.9,
    nesterov=False,
    weight_decay=1e-6,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = WARMUP_EPOCHS * STEPS_PER_EPOCH
  config.trust_coefficient = 0.02  # LARS eta; biases and BatchNorm parameters excluded (optim.kernel_mask)
  config.temperature = 0.1
  config.sinkhorn_epsilon = 0.05
  config.sinkhorn_iterations = 3
  config.num_prototypes = 3000
  config.freeze_prototypes_steps = 2 * STEPS_PER_EPOCH
  config.queue_size = 3840
  config.queue_start_step = 50 * STEPS_PER_EPOCH
  config.proj_dim = 128
  config.proj_hidden_dim = 2048
  # symmetric.yaml.
  config.augment = config_base.augment(
    view="jitter",
    crop_area=(0.08, 1.0),
    brightness=0.8,
    contrast=0.8,
    saturation=0.8,
    hue=0.2,
    jitter_prob=0.8,
    gray_prob=0.2,
    blur_prob=(0.5, 0.5),
    solarize_prob=(0.0, 0.0),
  )
  return config_base.pretraining(config)
