r"""Runs every (config, seed, grid point) in its own workdir and tabulates the results.

  python -m ssljax.sweep --config fixmatch_digits --config mixmatch_digits --seeds 10,11,12,13,14 \
      [--set num_labels=10,40] [--set total_steps=500] --out DIR [--jobs 2 --pin] [--metric test_accuracy] \
      [--columns linear_probe_accuracy,knn_accuracy,wall_seconds]

Each run is `ssljax.launch` in a subprocess, in DIR/runs/<config>[,key=value...]/seed<S> (log.txt beside it). A
finished run is not rerun and an interrupted one resumes from its checkpoints, so the same command continues a
sweep. Several values for a key make a grid. At the end: DIR/results.csv (one row per run, with every number its
results.json reports), DIR/results.md (mean ± std and min per config and grid point, best first) and
DIR/results.png (a dot per seed, a bar per group). `--columns` adds a table to results.md with the mean ± std of
each named result per group, in the order of the command line (accuracies in percent). A column `train.<tag>` is
a training-log scalar (a method's health signal: mask_rate, pseudo_label_acc, threshold_min, ...): its mean over
the last quarter of the run's logged steps, read from the run's TensorBoard events.
"""

import argparse
import csv
import itertools
import json
import math
import os
import subprocess
import sys
import time

from ssljax import launch, summary

ROW_KEYS = (
  "method",
  "dataset",
  "num_labels",
  "seed",
  "steps",
  "test_accuracy",
  "test_accuracy_median_last5",
  "linear_probe_accuracy",
  "linear_probe_accuracy_all",
  "knn_accuracy",
  "kmeans_nmi",
  "linear_probe_accuracy_random_init",
  "linear_probe_accuracy_bow",
  "val_perplexity",
  "val_bits_per_byte",
  "ngram_val_perplexity",
  "ngram_val_bits_per_byte",
  "unigram_val_perplexity",
  "val_masked_accuracy",
  "unigram_val_masked_accuracy",
  "val_nsp_accuracy",
  "wall_seconds",
)


def parse_sets(items):
  """['k=v1,v2', 'k2=v'] -> [('k', ['v1', 'v2']), ('k2', ['v'])]."""
  sets = []
  for item in items:
    if "=" not in item:
      raise SystemExit(f"error: --set takes KEY=V1[,V2,...], got {item!r}")
    key, values = item.split("=", 1)
    sets.append((key.removeprefix("config."), values.split(",")))
  return sets


def plan(configs, seeds, sets, out):
  """The runs: dicts with config name, path, seed, overrides and workdir."""
  varying = [k for k, vs in sets if len(vs) > 1]
  runs = []
  for name in configs:
    path = launch.config_path(name)
    if not os.path.exists(path):
      raise SystemExit(f"error: no config {name!r}")
    stem = os.path.splitext(os.path.basename(path))[0]
    for values in itertools.product(*[vs for _, vs in sets]):
      overrides = dict(zip([k for k, _ in sets], values))
      group = stem + "".join(f",{k}={overrides[k]}" for k in varying)
      for seed in seeds:
        runs.append(
          {
            "config": stem,
            "path": path,
            "group": group,
            "seed": seed,
            "overrides": overrides,
            "workdir": os.path.join(out, "runs", group, f"seed{seed}"),
          }
        )
  return runs


def results_of(run):
  path = os.path.join(run["workdir"], "results.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def command(run):
  cmd = [
    sys.executable,
    "-m",
    "ssljax.launch",
    "--config",
    run["path"],
    "--workdir",
    run["workdir"],
    f"--config.seed={run['seed']}",
  ]
  return cmd + [f"--config.{k}={v}" for k, v in run["overrides"].items()]


def fmt_time(seconds):
  seconds = int(max(seconds, 0))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def execute(runs, jobs: int, pin: bool):
  """Runs what is not finished, at most `jobs` at a time (pinned to one core each with `pin`); returns failures."""
  todo = [r for r in runs if results_of(r) is None]
  print(f"[sweep] {len(runs)} runs, {len(runs) - len(todo)} already finished, {len(todo)} to run", flush=True)
  running, failed, walls, started, free_cores = {}, [], [], time.time(), list(range(os.cpu_count() or 1))
  done = 0
  while todo or running:
    while todo and len(running) < jobs:
      run = todo.pop(0)
      os.makedirs(run["workdir"], exist_ok=True)
      core = free_cores.pop(0) if pin and free_cores else None
      log = open(os.path.join(run["workdir"], "log.txt"), "a")  # noqa: SIM115 (closed when the run ends)
      preexec = (lambda c=core: os.sched_setaffinity(0, {c})) if core is not None else None
      proc = subprocess.Popen(command(run), stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)
      running[proc] = (run, log, core, time.time())
      print(f"[sweep] start {run['group']} seed {run['seed']}", flush=True)
    time.sleep(1.0)
    for proc in [p for p in running if p.poll() is not None]:
      run, log, core, t0 = running.pop(proc)
      log.close()
      if core is not None:
        free_cores.append(core)
      done += 1
      walls.append(time.time() - t0)
      res = results_of(run)
      left = len(todo) + len(running)
      eta = sum(walls) / len(walls) * math.ceil(left / jobs) if left else 0.0
      if proc.returncode != 0 or res is None:
        failed.append(run)
        status = f"FAILED (exit {proc.returncode}; see {os.path.join(run['workdir'], 'log.txt')})"
      else:
        shown = {k: res[k] for k in ("test_accuracy", "knn_accuracy") if k in res}
        status = "done " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items())
      print(
        f"[sweep] {done}/{done + left} {run['group']} seed {run['seed']}: {status} in {walls[-1]:.0f} s | "
        f"ETA {fmt_time(eta)} (elapsed {fmt_time(time.time() - started)})",
        flush=True,
      )
  return failed


TRAIN_PREFIX = "train."
TRAIN_TAIL = 0.25  # train.<tag> averages the last quarter of the logged steps: the end of training, not one batch


def training_signals(workdir, tags):
  """{train.<tag>: mean of the logged <tag> over the last TRAIN_TAIL of the run's steps} for the tags it logged."""
  scalars = summary.read_scalars(workdir)
  out = {}
  for tag in tags:
    if tag in scalars:
      steps, values = scalars[tag]
      tail = [v for s, v in zip(steps, values) if s > (1 - TRAIN_TAIL) * steps[-1]]
      out[TRAIN_PREFIX + tag] = sum(tail) / len(tail)
  return out


def rows(runs, train_tags=()):
  out = []
  for run in runs:
    res = results_of(run)
    if res is None:
      continue
    row = {"group": run["group"], "config": run["config"], **{f"set.{k}": v for k, v in run["overrides"].items()}}
    row.update({k: res[k] for k in ROW_KEYS if k in res})
    # Then every other number the run reports (a pipeline's per-stage accuracies, say), for --metric.
    row.update({k: v for k, v in sorted(res.items()) if k not in row and _is_number(v)})
    for stage in res.get("stages", []):  # a pipeline stage's pseudo-labels: how many, and how many right
      for key, value in stage.get("pseudo_labels", {}).items():
        if key in ("accepted", "accuracy"):
          row[f"pseudo_labels_{key}_{stage['name']}"] = value
    if train_tags:
      row.update(training_signals(run["workdir"], train_tags))
    out.append(row)
  return out


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def write_csv(table, path):
  keys = []
  for row in table:
    keys += [k for k in row if k not in keys]
  with open(path, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=keys)
    writer.writeheader()
    writer.writerows(table)


def summarise(table, metric):
  """[(group, method, values)] with the metric of every seed, best mean first."""
  groups = {}
  for row in table:
    if metric in row:
      groups.setdefault(row["group"], (row.get("method", ""), []))[1].append(float(row[metric]))
  stats = [(g, m, v) for g, (m, v) in groups.items()]
  return sorted(stats, key=lambda s: -sum(s[2]) / len(s[2]))


def mean_std(values):
  mean = sum(values) / len(values)
  std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
  return mean, std


def write_markdown(stats, metric, seeds, path, cmd):
  scale = 100.0 if "accuracy" in metric else 1.0
  lines = [
    f"`{cmd}`",
    "",
    f"| config | method | seeds | {metric} mean ± std | min | per seed |",
    "|---|---|---|---|---|---|",
  ]
  for group, method, values in stats:
    mean, std = mean_std(values)
    per_seed = " / ".join(f"{v * scale:.2f}" for v in values)
    lines.append(
      f"| {group} | {method} | {len(values)} | {mean * scale:.2f} ± {std * scale:.2f} | "
      f"{min(values) * scale:.2f} | {per_seed} |"
    )
  lines.append("")
  lines.append(f"Seeds {','.join(map(str, seeds))}; {'percent' if scale == 100 else 'raw values'}.")
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def columns_table(table, columns):
  """Markdown lines: one row per group (first-seen order), the mean ± std of each column over its seeds."""
  groups = {}
  for row in table:
    groups.setdefault(row["group"], []).append(row)
  lines = ["| config | seeds | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
  for group, rs in groups.items():
    cells = []
    for key in columns:
      values = [float(r[key]) for r in rs if key in r]
      if not values:
        cells.append("–")
        continue
      mean, std = mean_std(values)
      if "accuracy" in key:
        cells.append(f"{100 * mean:.1f} ± {100 * std:.1f}")
      elif abs(mean) >= 100:
        cells.append(f"{mean:.0f} ± {std:.0f}")
      else:
        cells.append(f"{mean:.3g} ± {std:.2g}")
    seeds = ",".join(str(r["seed"]) for r in rs)
    lines.append(f"| {group} | {seeds} | " + " | ".join(cells) + " |")
  return lines


def write_plot(stats, metric, path):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(max(5, 0.9 * len(stats) + 2), 4), dpi=100)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  for i, (_, _, values) in enumerate(stats):
    ax.bar(i, sum(values) / len(values), color="#9ecae1", width=0.7)
    ax.scatter([i] * len(values), values, color="#08519c", s=14, zorder=3)
  ax.set_xticks(range(len(stats)))
  ax.set_xticklabels([g for g, _, _ in stats], rotation=30, ha="right", fontsize=8)
  ax.set_ylabel(metric)
  lows = [min(v) for _, _, v in stats]
  if lows:
    ax.set_ylim(max(0.0, min(lows) - 0.05 * (max(max(v) for _, _, v in stats) - min(lows) + 1e-9) - 0.02), None)
  fig.tight_layout()
  fig.savefig(path, format="png")


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="python -m ssljax.sweep")
  ap.add_argument("--config", action="append", required=True, help="config name or path (repeatable)")
  ap.add_argument("--seeds", default="10,11,12,13,14", help="comma-separated seeds (tune on 0-2, report on 10-14)")
  ap.add_argument("--set", action="append", default=[], help="KEY=V1[,V2,...] for every config (repeatable)")
  ap.add_argument("--out", required=True, help="the sweep's directory")
  ap.add_argument("--jobs", type=int, default=1, help="runs at a time")
  ap.add_argument("--pin", action="store_true", help="pin each run to one core (with --jobs up to the core count)")
  ap.add_argument("--metric", default=None, help="the column to tabulate (default: test_accuracy, else knn_accuracy)")
  ap.add_argument(
    "--columns", default="", help="comma-separated results (or train.<tag>) for a per-group table of means ± std"
  )
  ap.add_argument("--report_only", action="store_true", help="tabulate what has finished; run nothing")
  args = ap.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    seeds = [int(s) for s in args.seeds.split(",")]
  except ValueError:
    raise SystemExit(f"error: --seeds takes comma-separated integers, got {args.seeds!r}") from None
  if args.jobs < 1:
    raise SystemExit(f"error: --jobs must be >= 1, got {args.jobs}")
  runs = plan(args.config, seeds, parse_sets(args.set), args.out)
  failed = [] if args.report_only else execute(runs, args.jobs, args.pin)
  columns = [c for c in args.columns.split(",") if c]
  train_tags = [c[len(TRAIN_PREFIX) :] for c in [*columns, args.metric or ""] if c.startswith(TRAIN_PREFIX)]
  table = rows(runs, train_tags)
  os.makedirs(args.out, exist_ok=True)
  write_csv(table, os.path.join(args.out, "results.csv"))
  metric = args.metric or next((m for m in ("test_accuracy", "knn_accuracy") if any(m in r for r in table)), None)
  metric = metric or (columns[0] if columns else None)
  missing = [c for c in columns if table and not any(c in r for r in table)]
  if missing:
    raise SystemExit(f"error: --columns names results no run reports: {', '.join(missing)}")
  if metric:
    stats = summarise(table, metric)
    cmd = "python -m ssljax.sweep " + " ".join(a if " " not in a else repr(a) for a in (argv or sys.argv[1:]))
    write_markdown(stats, metric, seeds, os.path.join(args.out, "results.md"), cmd)
    if columns:
      with open(os.path.join(args.out, "results.md"), "a") as f:
        f.write("\n" + "\n".join(columns_table(table, columns)) + "\n")
    if stats:
      write_plot(stats, metric, os.path.join(args.out, "results.png"))
    with open(os.path.join(args.out, "results.md")) as f:
      print(f.read(), flush=True)
  if failed:
    raise SystemExit(
      f"error: {len(failed)} of {len(runs)} runs failed: " + ", ".join(f"{r['group']} seed {r['seed']}" for r in failed)
    )


if __name__ == "__main__":
  main()
