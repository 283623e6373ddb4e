r"""Self-training on digits, 40 labels: supervised round 0, then rounds that add confident pseudo-labels of the
unlabelled pool and retrain; the paper has no digits figure; ~5 CPU-min (4 rounds of ~1 min).

python launch.py --config configs/self_training_digits.py --workdir /tmp/self_training_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("self_training")  # total_steps is per round
  config.round_method = "supervised"  # each round's training method (its knobs follow)
  config.sup_augment = "strong"
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.75
  config.num_rounds = 3  # rounds after round 0
  config.pseudo_threshold = 0.9  # τ: accept predictions at least this confident
  config.per_class = 0  # k: at most this many per class and round, most confident first (0: no limit)
  config.retrain = "scratch"  # or "continue" from the previous round's weights
  return config
