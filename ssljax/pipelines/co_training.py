"""Co-training (Blum & Mitchell, 1998): two networks with different views of the input, here two disjoint
augmentation families (config.view_a, config.view_b: the supervised method's sup_augment), each adding its most
confident predictions on the unlabelled pool to the OTHER's training set every round.

Round 0 trains both on the labelled set. In round r each network labels the unlabelled pool with its EMA model;
of the examples not yet in the other's set, those it predicts with confidence ≥ pseudo_threshold, at most
`per_class` per class (the most confident first), join the other's set with its labels, kept from then on. Both then
train again, from scratch or continuing (`retrain`). Stages are the ordinary `supervised` runs with `pseudo_labels`
= workdir/pseudo_labels_round{r}_{a,b}.npz. results.json reports each network every round, their agreement on the
test set and the accuracy of their combined prediction (mean probability), the job's test_accuracy.
"""

import os

import numpy as np

from ssljax import checks
from ssljax.methods import common
from ssljax.pipelines import stages

VIEWS = ("weak", "strong")
CHECKS = {
  "num_rounds": checks.POSITIVE_INT,
  "pseudo_threshold": checks.PROBABILITY,
  "per_class": checks.NON_NEGATIVE_INT,
  "retrain": checks.one_of("scratch", "continue"),
  "view_a": checks.one_of(*VIEWS),
  "view_b": checks.one_of(*VIEWS),
}
OWN_KEYS = tuple(CHECKS)
NETS = ("a", "b")


def net_config(config, net: str, **overrides):
  return stages.stage_config(config, OWN_KEYS, method="supervised", sup_augment=config[f"view_{net}"], **overrides)


def check_config(config):
  checks.validate(config, CHECKS)
  for net in NETS:
    stages.check(net_config(config, net))


def run(config, workdir: str) -> dict:
  check_config(config)
  done = stages.already_finished(config, workdir)
  if done is not None:
    return done
  ds, _, unlabelled = common.load_split(config)
  x_u, y_u = common.unlabelled_arrays(ds, unlabelled)
  stages.check_workdir(config, workdir)
  workdir = os.path.abspath(workdir)
  summaries, previous, index = [], {}, 0
  accepted = {net: (np.zeros(0, np.int64), np.zeros(0, np.int32)) for net in NETS}
  rounds = {}
  for r in range(config.num_rounds + 1):
    paths = {net: os.path.join(workdir, f"pseudo_labels_round{r}_{net}.npz") for net in NETS}
    if r:
      if not all(os.path.exists(p) for p in paths.values()):
        probs = {net: stages.predict(previous[net], ds, [x_u])[0] for net in NETS}
        for net, other in (("a", "b"), ("b", "a")):  # `other` labels data for `net`
          new_idx, new_labels = stages.select(
            probs[other], config.pseudo_threshold, config.per_class, exclude=accepted[net][0]
          )
          idx = np.concatenate([accepted[net][0], new_idx])
          labels = np.concatenate([accepted[net][1], new_labels])
          order = np.argsort(idx, kind="stable")
          stages.write_pseudo_labels(paths[net], idx[order], labels[order])
      accepted = {net: common.read_pseudo_labels(paths[net], len(x_u), ds.num_classes)[:2] for net in NETS}
    for net in NETS:
      overrides = {}
      if r:
        overrides["pseudo_labels"] = paths[net]
        if config.retrain == "continue":
          overrides["init_from"] = previous[net]
      name = f"round{r}_{net}"
      summary = stages.run_stage(net_config(config, net, **overrides), workdir, index, name)
      if r:
        summary["pseudo_labels"] = stages.pseudo_label_stats(paths[net], y_u, ds.num_classes)
      summaries.append(summary)
      previous[net] = stages.stage_dir(workdir, index, name)
      index += 1
    rounds[r] = dict(previous)
  extra = {}
  for label, r in (("round0", 0), ("final", config.num_rounds)):
    test = {net: stages.predict(rounds[r][net], ds, [ds.test_images])[0] for net in NETS}
    combined = (test["a"] + test["b"]) / 2
    extra[f"test_accuracy_combined_{label}"] = float(np.mean(combined.argmax(1) == ds.test_labels))
    extra[f"agreement_{label}"] = stages.agreement(test["a"], test["b"])
  extra["test_accuracy_a"] = summaries[-2]["test_accuracy"]
  extra["test_accuracy_b"] = summaries[-1]["test_accuracy"]
  return stages.finish(config, workdir, summaries, test_accuracy=extra["test_accuracy_combined_final"], **extra)
