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


def usb_mu1(method, **overrides) -> ml_collections.ConfigDict:
  """USB's classic-CV recipe for the μ = 1 methods on CIFAR-10 with 40 labels (Π-model, Mean Teacher,
  Pseudo-Label, VAT, entropy minimisation): fixmatch_paper's network and optimiser, one unlabelled image per
  labelled one, the unlabelled weight ramped up linearly over the first 40% of steps, weak views."""
  config = fixmatch_paper(method=method, dataset="cifar10", num_labels=40)
  config.mu = 1
  config.rampup_steps = int(0.4 * config.total_steps)
  config.rampup_shape = "linear"
  config.view = "weak"
  config.update(overrides)
  return config


def classifier_digits(method, **overrides) -> ml_collections.ConfigDict:
  """FixMatch's digits recipe for a classifier method: the CNN (width 16), 1500 steps of 64 labelled images, SGD
  with EMA 0.999 and the digits augmentations; configs add their own knobs."""
  config = common(
    method=method,
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=1500,
    batch_size=64,
    eval_every=500,
    checkpoint_every=250,
    ema_decay=0.999,
    lr=0.03,
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.augment = augment()
  config.update(overrides)
  return config


def classifier_fashion_mnist(method, **overrides) -> ml_collections.ConfigDict:
  """classifier_digits on Fashion-MNIST (28×28, flips allowed): the same CNN (width 16) and optimiser, FixMatch's
  views scaled to the image (shifts of 12.5% of the side, as 4 px on 32; RandAugment and Cutout), steps sized for a
  2-core CPU; configs set total_steps."""
  config = classifier_digits(method, dataset="fashion_mnist", eval_every=400, checkpoint_every=200)
  config.augment = augment(
    weak_shift=3.5, weak_noise=0.0, strong_shift=3.5, strong_style="randaugment", strong_ops=2, cutout=0.5
  )
  config.update(overrides)
  return config


def mixmatch_digits_knobs(config) -> ml_collections.ConfigDict:
  """MixMatch's knobs as configs/mixmatch_digits.py chose them (K, T, α, λu and its ramp-up, the label guess's
  alignment), on a config from classifier_digits or classifier_fashion_mnist."""
  config.num_augment = 2  # K
  config.temperature = 0.5  # T
  config.mixup_alpha = 0.75  # α
  config.view = "weak"  # augmentation of x̂ and the K û views: "weak" (the paper) or "strong"
  config.lambda_u = 30.0
  config.rampup_steps = 500
  config.distribution_alignment = "running"  # ReMixMatch §3.1 on the label guess: "off", "batch" or "running"
  config.alignment_steps = 128  # the running mean's window
  return config


def simclr_cnn(dataset, **overrides) -> ml_collections.ConfigDict:
  """ssl_digits on `dataset` with SimCLR's knobs: 3000 steps, LARS lr 1.0, weight decay 1e-4, 300 warm-up steps,
  τ = 0.5, two views, a 64-d projection; configs set the views and labels."""
  config = ssl_digits("simclr", dataset=dataset, total_steps=3000, lr=1.0, weight_decay=1e-4, warmup_steps=300)
  config.temperature = 0.5
  config.num_views = 2
  config.proj_dim = 64
  config.proj_hidden_dim = 0  # 0: the encoder's feature dim
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


def pretext(method, dataset, **overrides) -> ml_collections.ConfigDict:
  """The pretext-task recipe for small images: the CNN (width 32), 1000 steps of 64, AdamW with 50 warm-up
  steps then cosine; configs add their own knobs."""
  config = common(
    method=method,
    dataset=dataset,
    model="cnn",
    num_labels=40,
    total_steps=1000,
    batch_size=64,
    eval_every=1000,
    checkpoint_every=250,
    optimizer="adamw",
    lr=2e-3,
    weight_decay=1e-4,
    schedule="warmup_cosine",
  )
  config.warmup_steps = 50
  config.model_kwargs.width = 32
  config.model_kwargs.bn_momentum = 0.9
  config.update(overrides)
  return config


def reconstruction(method, dataset, weak_shift, **overrides) -> ml_collections.ConfigDict:
  """pretext() for the methods that decode an image (methods/reconstruction.py): a bottleneck, a decoder of width
  32, and the weak view (shifts of up to `weak_shift` px, no noise) as the clean image."""
  config = pretext(method, dataset)
  config.bottleneck = True
  config.decoder_width = 32
  config.augment = augment(weak_shift=weak_shift, weak_noise=0.0)
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


def ssl_digits(method, **overrides) -> ml_collections.ConfigDict:
  """The digits pre-training recipe of the joint-embedding methods: the CNN of configs/simclr_digits.py (64-d
  features), affine views, 2000 steps of 256 with LARS, 100 warm-up steps then cosine; configs add their knobs."""
  config = common(
    method=method,
    dataset="digits",
    model="cnn",
    num_labels=40,
    total_steps=2000,
    batch_size=256,
    eval_every=1000,
    checkpoint_every=250,
    optimizer="lars",
    schedule="warmup_cosine",
  )
  config.model_kwargs.width = 16
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 100
  config.augment = augment(view="affine", strong_shift=1.0, cutout=0.5)
  return pretraining(config, **overrides)


SOLO_LEARN_EPOCHS = 1000
SOLO_LEARN_BATCH = 256
SOLO_LEARN_STEPS_PER_EPOCH = 50_000 // SOLO_LEARN_BATCH  # CIFAR-10's train images

# solo-learn's CIFAR view files (scripts/pretrain/cifar/augmentations/*.yaml): how each differs from asymmetric.yaml.
SOLO_LEARN_VIEWS = {
  "asymmetric": {},
  "symmetric_weak": dict(saturation=0.4, blur_prob=(0.5, 0.5), solarize_prob=(0.0, 0.0)),
  "symmetric": dict(
    brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, blur_prob=(0.5, 0.5), solarize_prob=(0.0, 0.0)
  ),
}


def solo_learn_views(name="asymmetric", **overrides) -> ml_collections.ConfigDict:
  """solo-learn's CIFAR view file `name` (SOLO_LEARN_VIEWS) as the augment config of augment.py's "jitter" view."""
  # asymmetric.yaml: no blur on CIFAR; solarisation only on the second view.
  views = dict(
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
  views.update(SOLO_LEARN_VIEWS[name])
  views.update(overrides)
  return augment(**views)


def solo_learn_cifar10(method, views, **overrides) -> ml_collections.ConfigDict:
  """solo-learn's CIFAR-10 pre-training recipe (scripts/pretrain/cifar/*.yaml): ResNet-18, 1000 epochs of 256
  images, 10 warm-up epochs then cosine, LARS unless optimizer="sgd", `views` (solo_learn_views); configs give lr,
  weight_decay and their own knobs."""
  config = common(
    method=method,
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=SOLO_LEARN_EPOCHS * SOLO_LEARN_STEPS_PER_EPOCH,
    batch_size=SOLO_LEARN_BATCH,
    eval_every=20_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer=overrides.pop("optimizer", "lars"),
    momentum=0.9,
    nesterov=False,
    schedule="warmup_cosine",
  )
  config.model_kwargs.bn_momentum = 0.9
  config.warmup_steps = 10 * SOLO_LEARN_STEPS_PER_EPOCH
  if config.optimizer == "lars":
    # LARS eta; biases and BatchNorm parameters excluded (optim.kernel_mask). solo-learn's LARS also clips the
    # adaptive rate (clip_lr); optax.lars does not.
    config.trust_coefficient = 0.02
  config.augment = views
  return pretraining(config, **overrides)
