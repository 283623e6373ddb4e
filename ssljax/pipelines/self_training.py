"""Self-training with confident pseudo-labels (Yarowsky 1995; Lee 2013's offline form): round 0 trains
`round_method` on the labelled set; each later round labels the unlabelled pool with the previous round's EMA model,
accepts the predictions whose top probability is ≥ pseudo_threshold (at most `per_class` per predicted class and
round, the most confident first, when per_class > 0), adds them to the labelled set with their pseudo-labels (kept
from then on) and trains again, from scratch or continuing from the previous round's weights (`retrain`).

Stage r is the ordinary `round_method` run with `pseudo_labels` = workdir/pseudo_labels_round{r}.npz (all the
examples accepted so far). results.json lists every round (its test accuracy, how many pseudo-labels it trained on
and their accuracy against the hidden labels) and, as reference points, scikit-learn's LogisticRegression on the
labelled pixels and its SelfTrainingClassifier(LogisticRegression) with the same threshold and number of rounds, and
with scikit-learn's defaults (threshold 0.75, 10 rounds).
"""

import os
import warnings

import numpy as np

from ssljax import checks
from ssljax.methods import common
from ssljax.pipelines import stages

CHECKS = {
  "num_rounds": checks.POSITIVE_INT,
  "pseudo_threshold": checks.PROBABILITY,
  "per_class": checks.NON_NEGATIVE_INT,
  "retrain": checks.one_of("scratch", "continue"),
  "round_method": checks.one_of("supervised", "fixmatch", "mixmatch"),
}
OWN_KEYS = tuple(CHECKS)  # the pipeline's own: not passed to the rounds


def round_config(config, **overrides):
  return stages.stage_config(config, OWN_KEYS, method=config.round_method, **overrides)


def check_config(config):
  checks.validate(config, CHECKS)
  stages.check(round_config(config))


def sklearn_reference(ds, labelled, unlabelled, threshold: float, num_rounds: int) -> dict:
  """scikit-learn on the same pixels and labels: LogisticRegression on the labelled set, and its
  SelfTrainingClassifier(LogisticRegression) with the same threshold and number of rounds, and with its defaults."""
  from sklearn.exceptions import ConvergenceWarning
  from sklearn.linear_model import LogisticRegression
  from sklearn.semi_supervised import SelfTrainingClassifier

  flat = lambda x: x.reshape(len(x), -1).astype(np.float64) / 255.0
  x_u, _ = common.unlabelled_arrays(ds, unlabelled)
  x = np.concatenate([flat(ds.train_images[labelled]), flat(x_u)])
  y = np.concatenate([ds.train_labels[labelled], np.full(len(x_u), -1)])
  x_test = flat(ds.test_images)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    logreg = LogisticRegression(max_iter=1000).fit(x[: len(labelled)], y[: len(labelled)])
    same = SelfTrainingClassifier(LogisticRegression(max_iter=1000), threshold=threshold, max_iter=num_rounds).fit(x, y)
    default = SelfTrainingClassifier(LogisticRegression(max_iter=1000)).fit(x, y)
  accuracy = lambda model: float(np.mean(model.predict(x_test) == ds.test_labels))
  return {
    "sklearn_logreg_accuracy": accuracy(logreg),
    "sklearn_self_training_accuracy": accuracy(same),
    "sklearn_self_training_default_accuracy": accuracy(default),  # scikit-learn's threshold 0.75, 10 rounds
  }


def run(config, workdir: str) -> dict:
  check_config(config)
  done = stages.already_finished(config, workdir)
  if done is not None:
    return done
  ds, labelled, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  stages.check_workdir(config, workdir)
  workdir = os.path.abspath(workdir)
  summaries, previous = [], None
  accepted = np.zeros(0, np.int64), np.zeros(0, np.int32)
  for r in range(config.num_rounds + 1):
    overrides = {}
    if r:
      path = os.path.join(workdir, f"pseudo_labels_round{r}.npz")
      if not os.path.exists(path):
        (probs,) = stages.predict(previous, ds, [x_u])
        new_idx, new_labels = stages.select(probs, config.pseudo_threshold, config.per_class, exclude=accepted[0])
        idx = np.concatenate([accepted[0], new_idx])
        labels = np.concatenate([accepted[1], new_labels])
        order = np.argsort(idx, kind="stable")
        stages.write_pseudo_labels(path, idx[order], labels[order])
      before = len(accepted[0])
      accepted = common.read_pseudo_labels(path, len(x_u), ds.num_classes)[:2]
      overrides["pseudo_labels"] = path
      if config.retrain == "continue":
        overrides["init_from"] = previous
    summary = stages.run_stage(round_config(config, **overrides), workdir, r, f"round{r}")
    if r:
      summary["pseudo_labels"] = {
        **stages.pseudo_label_stats(path, y_u, ds.num_classes),
        "added": int(len(accepted[0]) - before),
      }
    summaries.append(summary)
    previous = stages.stage_dir(workdir, r, f"round{r}")
  reference = sklearn_reference(ds, labelled, unlabelled, config.pseudo_threshold, config.num_rounds)
  return stages.finish(config, workdir, summaries, test_accuracy=summaries[-1]["test_accuracy"], **reference)
