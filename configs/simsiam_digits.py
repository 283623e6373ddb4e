r"""SimSiam on digits (the CNN and views of configs/simclr_digits.py, 1000 steps of 128) + representation evaluation.

python launch.py --config configs/simsiam_digits.py --workdir /tmp/simsiam_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="simsiam",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1000,
    batch_size=128,
    eval_every=500,
    checkpoint_every=250,
    optimizer="sgd",
    lr=0.5,
    weight_decay=1e-05,
    schedule="warmup_cosine",
  )
  config.model_kwargs.width = 16  # 64-d features, as configs/simclr_digits.py
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 100
  config.nesterov = False
  config.proj_dim = 64
  config.proj_hidden_dim = 256
  config.pred_hidden_dim = 16
  config.augment = config_base.augment(view="affine", strong_shift=1.0, cutout=0.5)
  return config_base.pretraining(config)
