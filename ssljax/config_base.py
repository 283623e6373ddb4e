"""The knobs every training config shares, under the same names, so ablation scripts can sweep any method."""

import ml_collections
from ml_collections import config_dict


def common(**overrides) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.method = ""
  config.dataset = "digits"
  config.data_dir = ""  # where tfds datasets are prepared (`tfds build NAME --data_dir DIR`), or Fashion-MNIST's IDX
  config.image_size = 0  # resize every image to N×N (0: keep); folder: datasets of mixed sizes need it
  config.allow_flip = config_dict.placeholder(bool)  # None: the dataset's default (False for folder: and npz:)
  config.on_bad_image = "fail"  # an unreadable image in a folder: dataset: "fail", or "skip" it
  config.model = "cnn"
  config.model_kwargs = ml_collections.ConfigDict()
  config.seed = 0
  config.num_labels = 40
  config.total_steps = 1000
  config.batch_size = 64  # labelled (or SSL) examples per step, over all devices
  config.eval_every = 500
  config.checkpoint_every = 500
  config.log_every = 50
  config.keep_checkpoints = 3
  config.num_devices = 0  # 0: every device
  config.ema_decay = 0.0  # 0: no EMA
  config.dtype = "float32"  # activations: float32 or bfloat16 (parameters stay float32); float64 for exact tests
  config.optimizer = "sgd"
  config.lr = 0.03
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.schedule = "fixmatch_cosine"
  config.entropy_weight = 0.0  # classifier methods: + entropy_weight · H(p) on unlabelled predictions (0: off)
  config.update(overrides)
  return config


def augment(**overrides) -> ml_collections.ConfigDict:
  """Augmentation knobs (ssljax/augment.py); the defaults are the digits settings."""
  a = ml_collections.ConfigDict(
    dict(weak_shift=1.0, weak_noise=0.05, strong_shift=1.0, strong_style="affine", strong_ops=2, cutout=0.5)
  )
  a.update(overrides)
  return a


def fixmatch_paper(**overrides) -> ml_collections.ConfigDict:
  """FixMatch's published recipe (Sohn et al., 2020) for 32×32 datasets; configs override dataset, model, labels."""
  config = common(
    method="fixmatch",
    model="wrn28_2",
    total_steps=2**20,
    batch_size=64,
    eval_every=2**14,
    checkpoint_every=2**12,
    log_every=500,
    ema_decay=0.999,
    lr=0.03,
    weight_decay=5e-4,
  )
  config.model_kwargs.bn_momentum = 0.999
  config.mu = 7
  config.threshold = 0.95
  config.lambda_u = 1.0
  config.augment = augment(
    weak_shift=4.0, weak_noise=0.0, strong_shift=4.0, strong_style="randaugment", strong_ops=2, cutout=0.5
  )
  config.update(overrides)
  return config


def pretraining(config, **overrides) -> ml_collections.ConfigDict:
  """Adds the knobs every pre-training method has (methods/representation.py): the online probe and the collapse
  alarm. collapse_threshold is a fraction of 1/√d, the healthy per-dimension std of a d-dim normalised embedding."""
  config.probe_lr = 0.1
  config.probe_batch_size = 64
  config.collapse_threshold = 0.1
  config.collapse_patience = 300
  config.update(overrides)
  return config


def text(method, **overrides) -> ml_collections.ConfigDict:
  """The knobs the text methods share: the corpus, its tokenizer, the Transformer, the probe, AdamW."""
  config = common(
    method=method,
    dataset="stdlib_docs",
    model="transformer",
    num_labels=100,  # the probe's labelled documents: 5 of each of its probe_classes labels
    total_steps=500,
    batch_size=32,
    eval_every=250,
    checkpoint_every=250,
    optimizer="adamw",
    lr=1e-3,
    weight_decay=0.01,
    schedule="warmup_cosine",
  )
  config.warmup_steps = 50
  config.tokenizer = "bpe"  # or "byte"
  config.vocab_size = 1024  # BPE tokens, the 5 specials and 256 bytes included
  config.seq_len = 128
  config.probe_classes = 20  # the labels with the most training documents
  config.model_kwargs.width = 128
  config.model_kwargs.depth = 4
  config.model_kwargs.num_heads = 4
  config.model_kwargs.mlp_ratio = 4
  config.model_kwargs.max_len = 128
  config.update(overrides)
  return config
