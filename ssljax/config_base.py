"""The knobs every training config shares, under the same names, so ablation scripts can sweep any method."""
import ml_collections


def common(**overrides) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.method = ""
  config.dataset = "digits"
  config.data_dir = ""            # where tfds datasets are prepared (`tfds build NAME --data_dir DIR`)
  config.model = "cnn"
  config.model_kwargs = ml_collections.ConfigDict()
  config.seed = 0
  config.num_labels = 40
  config.total_steps = 1000
  config.batch_size = 64          # labelled (or SSL) examples per step, over all devices
  config.eval_every = 500
  config.checkpoint_every = 500
  config.log_every = 50
  config.keep_checkpoints = 3
  config.num_devices = 0          # 0: every device
  config.ema_decay = 0.0          # 0: no EMA
  config.optimizer = "sgd"
  config.lr = 0.03
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.schedule = "fixmatch_cosine"
  config.update(overrides)
  return config


def augment(**overrides) -> ml_collections.ConfigDict:
  """Augmentation knobs (ssljax/augment.py). Defaults are the digits settings that worked (REFERENCES.md)."""
  a = ml_collections.ConfigDict(dict(weak_shift=1.0, weak_noise=0.05, strong_shift=1.0, strong_style="affine",
                                     strong_ops=2, cutout=0.5))
  a.update(overrides)
  return a
