r"""SimCLR on scikit-learn's digits (fast, CPU): self-supervised pre-training, then the representation evaluation.

  python launch.py --config configs/simclr_digits.py --workdir /tmp/simclr_digits

Every train image is in the pool (labels unused in training); num_labels=40 (4 per class, the FixMatch draw) only
picks the linear probe's labelled subset. Small CNN of width 16 (conv16-conv32-pool-conv64, 64-d features; width 32
costs ~3x per step), projection head 64→64; batch 256 (512 views per step), 1000 steps; views = small affine warp
(rotation, zoom, shear, shift) + contrast/brightness jitter + noise + Cutout (the 'affine' view: both geometric and
photometric parts, as REFERENCES.md found necessary); τ=0.5 (beat 0.2 there); LARS lr 1.0 (= 1.0 × B/256), 100
warm-up steps then cosine, weight decay 1e-4 on kernels only. About 0.13 CPU-s per step on the 2-core dev VM
(~2.3 CPU-minutes per run).

Measured with this config, seeds 0/1/2: 40-label probe 94.7/92.2/93.6% (mean 93.5), probe with all labels
98.3/99.4/99.4%, kNN 98.3/98.3/98.6%, k-means NMI 0.83/0.85/0.82. NMI meets the issue's target (>= 0.80); the
probe mean and kNN fall short of 94% / 99%, which REFERENCES.md reached with the width-32 CNN (~3x the cost).
"""
from ssljax import config_base


def get_config():
  config = config_base.common(method="simclr", dataset="digits", model="cnn", num_labels=40, total_steps=1000,
                              batch_size=256, eval_every=1000, checkpoint_every=250, optimizer="lars", lr=1.0,
                              weight_decay=1e-4, schedule="warmup_cosine")
  config.model_kwargs.width = 16  # 64-d features; width 32 costs ~3x per step
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 100
  config.temperature = 0.5
  config.num_views = 2
  config.proj_dim = 64
  config.proj_hidden_dim = 0      # 0: the encoder's feature dim
  config.augment = config_base.augment(view="affine", strong_shift=1.0, cutout=0.5, strength=0.5,
                                       crop_area=(0.3, 1.0), blur=False)
  return config
