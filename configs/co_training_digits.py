r"""Co-training on digits, 40 labels: two networks, weak and strong views, label the unlabelled pool for each other
each round; the paper has no digits figure; ~6 CPU-min (two networks, 3 rounds of ~1 min each).

python launch.py --config configs/co_training_digits.py --workdir /tmp/co_training_digits
"""

from ssljax import config_base


def get_config():
  config = config_base.classifier_digits("co_training", total_steps=1000)  # total_steps is per network and round
  config.sup_augment = "strong"  # replaced by each network's view
  config.labelled_fraction = 0.0  # share of each batch from the true labels once pseudo-labels join (0: uniform)
  config.mixup_alpha = 0.75
  config.view_a = "weak"
  config.view_b = "strong"
  config.num_rounds = 2
  config.pseudo_threshold = 0.9
  config.per_class = 40  # each network gives the other at most this many per class and round
  config.retrain = "scratch"
  return config
