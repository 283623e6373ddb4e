r"""The training loop's overhead: a whole `train.train_and_evaluate` run against a minimal hand-written JAX loop of
the same compiled step, in the same process.

  python benchmarks/loop_overhead.py --config configs/fixmatch_digits.py [--steps 1500] [--trace DIR]

Prints one JSON line: steps/s of both loops, the compile time, the share of the run's wall-clock spent outside the
compiled steps (init, compile, evaluations, checkpoints, logging, results), and the loop overhead proper: the
run's wall-clock minus the minimal loop's (same steps, same compiled function), as a fraction of the run's. With
--trace, a `jax.profiler` trace of 20 steps of the real loop is written to DIR and the idle time between steps is
measured from it (the step is dispatched asynchronously; host work only at log/eval/checkpoint steps).
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


def idle_share_from_trace(trace_dir):
  """Fraction of the traced window in which no step computation ran (gaps between the executions)."""
  from jax.profiler import ProfileData

  paths = [os.path.join(d, f) for d, _, fs in os.walk(trace_dir) for f in fs if f.endswith(".xplane.pb")]
  profile = ProfileData.from_file(max(paths, key=os.path.getmtime))
  spans = []
  for plane in profile.planes:
    for line in plane.lines:
      for event in line.events:
        if "ExecuteHelper" in event.name or event.name.startswith("PjRtCpuExecutable::Execute"):
          spans.append((event.start_ns, event.start_ns + event.duration_ns))
  if not spans:
    return None
  spans.sort()
  busy, end = 0.0, spans[0][0]
  for s, e in spans:
    if e > end:
      busy += e - max(s, end)
      end = e
  window = spans[-1][1] - spans[0][0]
  return 1.0 - busy / window if window else None


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
  if args.trace:
    trace_config = configs.shorten(configs.get(name), 60)
    trace_config.log_every, trace_config.eval_every, trace_config.checkpoint_every = 1000, 1000, 1000
    tdir = tempfile.mkdtemp(prefix="loop_trace_run_")
    train.train_and_evaluate(trace_config, tdir, method)  # compile cache warm: the trace sees the steps
    trace_config.total_steps = 80
    jax.profiler.start_trace(args.trace)
    train.train_and_evaluate(trace_config, tdir, method)  # resumes at 60: 20 traced steps
    jax.profiler.stop_trace()
    out["trace_dir"] = args.trace
    out["idle_share_between_steps"] = idle_share_from_trace(args.trace)
  print(json.dumps(out), flush=True)


if __name__ == "__main__":
  main()
