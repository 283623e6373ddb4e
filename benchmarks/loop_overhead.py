r"""The training loop's overhead: a whole `train.train_and_evaluate` run against a minimal hand-written JAX loop of
the same compiled step, in the same process.

  python benchmarks/loop_overhead.py --config configs/fixmatch_digits.py [--steps 1500] [--trace DIR]

Prints one JSON line: steps/s of both loops, the compile time, the share of the run's wall-clock spent outside the
compiled steps (init, compile, evaluations, checkpoints, logging, results), and the loop overhead proper: the
run's wall-clock minus the minimal loop's (same steps, same compiled function), as a fraction of the run's. With
--trace, a `jax.profiler` trace of 20 steps of the real loop is written to DIR and the idle time between steps is
measured from it, beside the same measure for 20 steps of the minimal loop (the step is dispatched asynchronously;
host work only at log/eval/checkpoint steps, so the two should agree).
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

import ssljax  # noqa: E402,F401  (XLA:CPU flags before JAX starts)
from ssljax import configs, launch, methods, parallel, train  # noqa: E402


def minimal_loop(task, config, steps):
  """init + compile + `steps` steps, nothing else; returns (seconds per step, compile seconds)."""
  mesh = parallel.make_mesh(config.get("num_devices") or None)
  state = train.init_state(task, config.seed, mesh, ema=bool(config.get("ema_decay")))
  data = parallel.put_replicated(task.arrays, mesh)
  step = train.make_step(task, mesh, config.get("ema_decay") or None)
  t0 = time.perf_counter()
  compiled = step.lower(state, data).compile()
  compile_s = time.perf_counter() - t0
  state, m = compiled(state, data)  # the first executed step is slower than steady state
  jax.block_until_ready(m)
  t0 = time.perf_counter()
  for _ in range(steps):
    state, m = compiled(state, data)
  jax.block_until_ready((state, m))
  return (time.perf_counter() - t0) / steps, compile_s


def idle_share_from_trace(trace_dir, steps=20):
  """Share of the traced steps' window in which no step ran: the gaps between the `steps` longest top-level
  executions on XLA's client threads (the train steps), over the span from the first to the last of them."""
  from jax.profiler import ProfileData

  paths = [os.path.join(d, f) for d, _, fs in os.walk(trace_dir) for f in fs if f.endswith(".xplane.pb")]
  profile = ProfileData.from_file(max(paths, key=os.path.getmtime))
  spans = [
    (e.start_ns, e.start_ns + e.duration_ns)
    for plane in profile.planes
    for line in plane.lines
    if line.name.startswith("tf_XLAPjRtCpuClient")
    for e in line.events
    if e.name == "ThunkExecutor::Execute"
  ]
  spans = sorted(sorted(spans, key=lambda s: s[0] - s[1])[:steps])
  if len(spans) < 2:
    return None
  gaps = sum(max(0, b[0] - a[1]) for a, b in zip(spans, spans[1:]))
  return gaps / (spans[-1][1] - spans[0][0])


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--config", default="fixmatch_digits")
  ap.add_argument("--steps", type=int, default=0, help="0: the config's total_steps")
  ap.add_argument("--trace", default="", help="write a 20-step profiler trace of the real loop here")
  args = ap.parse_args()
  name = os.path.splitext(os.path.basename(launch.config_path(args.config)))[0]
  config = configs.get(name)
  if args.steps:
    configs.shorten(config, args.steps)
  method = methods.get(config.method)
  train.check_config(config, method)
  task = method.build(config)
  per_step, compile_s = minimal_loop(task, config, config.total_steps)

  workdir = tempfile.mkdtemp(prefix="loop_overhead_")
  t0 = time.perf_counter()
  results = train.train_and_evaluate(config, workdir, method)
  run_s = time.perf_counter() - t0
  steps_s = config.total_steps * per_step
  out = {
    "config": args.config,
    "method": config.method,
    "steps": config.total_steps,
    "cpu": os.cpu_count(),
    "minimal_steps_per_sec": 1.0 / per_step,
    "run_steps_per_sec": config.total_steps / run_s,
    "compile_s": compile_s,
    "run_wall_s": run_s,
    "minimal_wall_s": steps_s + compile_s,
    "share_outside_steps": 1.0 - steps_s / run_s,
    "loop_overhead": (run_s - steps_s - compile_s) / run_s,
    "test_accuracy": results.get("test_accuracy"),
    "loadavg": os.getloadavg(),
  }
  if args.trace:  # 20 steps of each loop, the real one resumed past its start so that only steps are traced
    trace_config = configs.shorten(configs.get(name), 60)
    trace_config.log_every, trace_config.eval_every, trace_config.checkpoint_every = 1000, 1000, 1000
    tdir = tempfile.mkdtemp(prefix="loop_trace_run_")
    train.train_and_evaluate(trace_config, tdir, method)
    trace_config.total_steps = 80
    jax.profiler.start_trace(os.path.join(args.trace, "loop"))
    train.train_and_evaluate(trace_config, tdir, method)
    jax.profiler.stop_trace()
    jax.profiler.start_trace(os.path.join(args.trace, "minimal"))
    minimal_loop(task, config, 20)
    jax.profiler.stop_trace()
    out["trace_dir"] = args.trace
    out["idle_share_between_steps"] = idle_share_from_trace(os.path.join(args.trace, "loop"))
    out["idle_share_between_steps_minimal_loop"] = idle_share_from_trace(os.path.join(args.trace, "minimal"))
  print(json.dumps(out), flush=True)


if __name__ == "__main__":
  main()
