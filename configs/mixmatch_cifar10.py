r"""MixMatch on CIFAR-10 with 250 labels, the paper's recipe (Berthelot et al., 2019): 88.92% accuracy (11.08% error).

  python launch.py --config configs/mixmatch_cifar10.py --workdir /tmp/mixmatch_cifar10 \
      --config.data_dir=~/tensorflow_datasets

WRN-28-2, Adam lr 0.002 with decoupled weight decay (kernels × (1 − 0.02·lr) per step), B=64 labelled + 64
unlabelled, K=2 weak augmentations (flip + 4 px translate), T=0.5, α=0.75, λu=75 ramped up linearly over 16,384
steps, 2^20 steps, EMA 0.999. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="mixmatch",
    dataset="cifar10",
    model="wrn28_2",
    num_labels=250,
    total_steps=2**20,
    batch_size=64,
    eval_every=2**14,
    checkpoint_every=2**12,
    log_every=500,
    ema_decay=0.999,
    optimizer="adamw",
    lr=0.002,
    weight_decay=0.02,
    schedule="constant",
  )
  config.model_kwargs.bn_momentum = 0.999
  config.num_augment = 2  # K
  config.temperature = 0.5  # T
  config.mixup_alpha = 0.75  # α
  config.view = "weak"  # flip + translate
  config.lambda_u = 75.0
  config.rampup_steps = 16384
  config.distribution_alignment = "off"  # ReMixMatch §3.1 on the label guess: "off", "batch" or "running"
  config.alignment_steps = 128  # the running mean's window
  config.augment = config_base.augment(weak_shift=4.0, weak_noise=0.0)
  return config
