r"""RotNet on digits, then the representation evaluation with the random-init probe of the same run; ~2 CPU-min.

python launch.py --config configs/rotnet_digits.py --workdir /tmp/rotnet_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.common(
    method="rotnet",
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=500,
    batch_size=64,
    eval_every=500,
    checkpoint_every=250,
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    schedule="steps",
  )
  config.lr_decay_at = (0.3, 0.6, 0.8)
  config.lr_decay_factor = 0.2
  config.model_kwargs.width = 32
  config.model_kwargs.bn_momentum = 0.9
  config.head = "mlp"
  config.head_hidden_dim = 0  # 0: the encoder's feature dim
  config.probe_layers = ()  # () = the encoder output
  config.augment = config_base.augment()
  return config_base.pretraining(config)
