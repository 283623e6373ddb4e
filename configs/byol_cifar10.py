r"""BYOL on CIFAR-10, solo-learn's recipe (scripts/pretrain/cifar/byol.yaml); solo-learn reports 92.58% online
linear accuracy (ResNet-18, 1000 epochs = 195k steps of batch 256: a GPU job, not a CPU one).

  python launch.py --config configs/byol_cifar10.py --workdir /tmp/byol_cifar10 \
      --config.data_dir=~/tensorflow_datasets

LARS lr 1.0 (B=256), wd 1e-5, 10 warm-up epochs then cosine; projector 4096→256 and predictor 4096 (BatchNorm
between); τ from 0.99 to 1.0 on the cosine schedule; asymmetric views. solo-learn's LARS also clips the adaptive
rate (clip_lr); optax.lars does not.
"""

from ssljax import config_base

EPOCHS = 1000
WARMUP_EPOCHS = 10
TRAIN_IMAGES = 50_000
BATCH = 256
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH


def get_config():
  config = config_base.common(
    method="byol",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * STEPS_PER_EPOCH,
    batch_size=BATCH,
    eval_every=20_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="lars",
    lr=1.0,
    momentum=0.9,
    nesterov=False,
    weight_decay=1e-5,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = WARMUP_EPOCHS * STEPS_PER_EPOCH
  config.trust_coefficient = 0.02  # LARS eta; biases and BatchNorm parameters excluded (optim.kernel_mask)
  config.base_tau = 0.99
  config.final_tau = 1.0
  config.proj_dim = 256
  config.proj_hidden_dim = 4096
  config.pred_hidden_dim = 4096
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
