r"""The two reference rows of the image-pretext table: raw pixels, and the random-init encoder, under the same
representation report as the pretext runs (ssljax.evaluate.representation_report: probe on the num_labels draw of
each seed, probe on all labels, kNN, k-means NMI).

  python benchmarks/pretext_baselines.py --dataset digits --seeds 10,11,12,13,14 [--width 32] [--out FILE.json]

Raw pixels: the flattened [0, 1] pixels. Random init: the CNN encoder of width --width at the initial weights a run
of that seed starts from (train.init_state's draw; the weights of rotnet_digits' model, whose encoder is the one the
pretext configs use), in inference mode. Prints one JSON line per row: the mean over seeds and the per-seed values.
"""

import argparse
import json
import time

import jax
import numpy as np

import ssljax  # noqa: F401  (XLA:CPU flags)
from ssljax import evaluate, parallel
from ssljax.methods import common, representation, rotnet

KEYS = ("linear_probe_accuracy", "linear_probe_accuracy_all", "knn_accuracy", "kmeans_nmi")


def report(train_x, test_x, ds, labelled):
  return evaluate.representation_report(
    train_x, ds.train_labels, test_x, ds.test_labels, labelled, ds.num_classes, workdir=None
  )


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--dataset", default="digits")
  parser.add_argument("--seeds", default="10,11,12,13,14")
  parser.add_argument("--num_labels", type=int, default=40)
  parser.add_argument("--width", type=int, default=32)
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  seeds = [int(s) for s in args.seeds.split(",")]
  rows = {"raw pixels": [], "random-init encoder": []}
  mesh = parallel.make_mesh(1)
  for seed in seeds:
    config = _config(args, seed)
    ds, labelled, _ = common.load_split(config)
    t = time.time()
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255.0
    rows["raw pixels"].append({**report(flat(ds.train_images), flat(ds.test_images), ds, labelled), "seconds": 0.0})
    rows["raw pixels"][-1]["seconds"] = time.time() - t
    t = time.time()
    task = rotnet.build(config)
    variables = jax.jit(task.init)(jax.random.key(seed, impl="rbg"))
    features = representation.features_fn(common.encoder(config), ds)
    train_f = parallel.batched_apply(features, variables, ds.train_images, mesh)
    test_f = parallel.batched_apply(features, variables, ds.test_images, mesh)
    rows["random-init encoder"].append({**report(train_f, test_f, ds, labelled), "seconds": time.time() - t})
  out = []
  for name, per_seed in rows.items():
    mean = {k: float(np.mean([r[k] for r in per_seed])) for k in (*KEYS, "seconds")}
    line = {"row": name, "dataset": args.dataset, "seeds": seeds, "mean": mean, "per_seed": per_seed}
    print(json.dumps(line), flush=True)
    out.append(line)
  if args.out:
    with open(args.out, "w") as f:
      json.dump(out, f, indent=2)


def _config(args, seed):
  import importlib.util

  from ssljax import launch

  spec = importlib.util.spec_from_file_location("c", launch.config_path("rotnet_digits"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  config.dataset, config.seed, config.num_labels = args.dataset, seed, args.num_labels
  config.model_kwargs.width = args.width
  return config


if __name__ == "__main__":
  main()
