r"""Train-step throughput of any ssljax method, against the PyTorch reference in the same run.

  python benchmarks/train_step.py --config configs/fixmatch_cifar10.py [--config.key=value ...] \
      [--steps 5] [--warmup 3] [--num_devices 1] [--rounds 1] [--torch]

Builds the config's train.Task (for a TFDS dataset, through the real tfds code path under
`tensorflow_datasets.testing.mock_data`: random images with the dataset's shapes, no download), compiles
train.make_step and times it after warm-up. Prints one JSON line: images_per_sec (task.images_per_step, every
image forwarded; tokens_per_sec for a task whose info says step_unit='tokens', as the text methods' do), step_ms
(median), compile_s, achieved_gflop_s (3 x forward FLOPs per image x images/s) and its fraction of the matmul peak
measured in this run (max of numpy's and jax's 4096^2 f32 matmul GFLOP/s).

Three variants are timed, interleaved round by round:
  full    the train step as training runs it: sampling + augmentation inside the step;
  no_aug  the same step with `task.sample` replaced by slicing a batch sampled once before timing (what the
          PyTorch reference does: pre-made tensors, no augmentation);
  sample  task.sample alone (gather + augmentation), jitted and shard_mapped the same way.
With --torch, each round also runs benchmarks/torch_reference.py (eager, then --compile) in a subprocess, so the
ratios compare runs that saw the same machine load. Timings on shared CPUs are noisy: read the ratios.

--num_devices N > 1 splits the batch over N devices; on CPU it sets --xla_force_host_platform_device_count=N
before JAX starts (virtual CPU devices, one per core: both cores busier).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _early_num_devices(argv) -> int:
  """--num_devices from the command line, read before JAX starts (its host device count is fixed then)."""
  for i, arg in enumerate(argv):
    if arg.startswith("--num_devices="):
      return int(arg.split("=", 1)[1])
    if arg == "--num_devices" and i + 1 < len(argv):
      return int(argv[i + 1])
  return 1


_N = _early_num_devices(sys.argv)
if _N > 1 and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={_N}".strip()

sys.path.insert(0, ROOT)
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

import ssljax  # noqa: E402,F401  (appends the XLA:CPU conv flag to XLA_FLAGS before JAX starts)

_CONFIG = config_flags.DEFINE_config_file("config", None, "A configs/<method>_<dataset>.py file.", lock_config=False)
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per variant and round.")
_WARMUP = flags.DEFINE_integer(
  "warmup", 3, "Untimed steps per variant before timing (>= 2: the first executed step is slower than steady state)."
)
_NUM_DEVICES = flags.DEFINE_integer("num_devices", 1, "Devices the batch is split over (virtual CPU devices on CPU).")
_ROUNDS = flags.DEFINE_integer("rounds", 1, "Rounds; each times every variant (and the PyTorch runs) once.")
_VARIANTS = flags.DEFINE_list("variants", ["full", "no_aug", "sample"], "Which of full, no_aug, sample to time.")
_TORCH = flags.DEFINE_bool("torch", False, "Also run the PyTorch reference (eager and torch.compile) each round.")
_TORCH_MODES = flags.DEFINE_list("torch_modes", ["eager", "compile"], "PyTorch runs per round: eager, compile.")
_TORCH_PYTHON = flags.DEFINE_string("torch_python", "/tmp/venv-torch/bin/python", "Python of the torch venv.")
_TORCH_STEPS = flags.DEFINE_integer("torch_steps", 5, "Timed steps of each PyTorch run (bench.py --steps).")
_TORCH_WARMUP = flags.DEFINE_integer("torch_warmup", 3, "Warm-up steps of each PyTorch run (bench.py --warmup).")
_MOCK_EXAMPLES = flags.DEFINE_integer(
  "mock_examples", 512, "Mocked examples per split for TFDS datasets (mocked reads go one record at a time)."
)
_REAL_DATA = flags.DEFINE_bool(
  "real_data", False, "Read the prepared TFDS dataset (config.data_dir) instead of mocking it."
)
_PEAK_SIZE = flags.DEFINE_integer("peak_size", 4096, "Side of the square f32 matmul used for the peak (0: skip).")

# Forward GFLOP per 32x32x3 image (torch.utils.flop_counter on benchmarks/torch_reference.py's models); the
# ResNet-18 figure includes a SimCLR-sized head (within rounding).
FWD_GFLOP_32 = {"wrn28_2": 0.429, "resnet18": 1.11}
TORCH_TASKS = {"fixmatch": "wrn28_2", "simclr": "resnet18", "mixmatch": "wrn28_2", "byol": "resnet18"}
REFERENCE = os.path.join(ROOT, "benchmarks", "torch_reference.py")


# ----------------------------------------------------------------------------------------- machine


def cpu_name() -> str:
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
  except OSError:
    return "?"
  info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
  name = info.get("Model name", "?").strip()
  fam, model = info.get("CPU family", "").strip(), info.get("Model", "").strip()
  flags_ = info.get("Flags", "").split()
  simd = "avx512" if "avx512f" in flags_ else "avx2" if "avx2" in flags_ else "no-avx2"
  return f"{name} (family {fam} model {model}, {simd}, {os.cpu_count()} CPUs)"


def _best_of(f, n=3):
  f()
  best = float("inf")
  for _ in range(n):
    t = time.perf_counter()
    f()
    best = min(best, time.perf_counter() - t)
  return best


def jax_matmul_gflops(n: int) -> float:
  import jax
  import jax.numpy as jnp

  a = jnp.asarray(np.random.RandomState(0).randn(n, n).astype(np.float32))
  f = jax.jit(lambda a: jnp.dot(a, a, precision=jax.lax.Precision.HIGHEST))
  return 2 * n**3 / _best_of(lambda: f(a).block_until_ready()) / 1e9


_NUMPY_PEAK = """
import time, numpy as np
n = {n}
a = np.random.RandomState(0).randn(n, n).astype(np.float32)
a @ a
best = float('inf')
for _ in range(3):
  t = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - t)
print(2 * n ** 3 / best / 1e9)
"""


def numpy_matmul_gflops(n: int) -> float | None:
  """In a subprocess without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they pin OpenBLAS to its AVX2 kernel)."""
  env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
  r = subprocess.run([sys.executable, "-c", _NUMPY_PEAK.format(n=n)], capture_output=True, text=True, env=env)
  try:
    return float(r.stdout.strip().splitlines()[-1])
  except (ValueError, IndexError):
    return None


# ----------------------------------------------------------------------------------------- task


def build_task(config):
  """config.method's module builds the train.Task; TFDS datasets are mocked unless --real_data."""
  from ssljax import data, methods, train
  from ssljax.errors import UserError

  try:
    module = methods.get(config.method)
    train.check_config(config, module)
  except UserError as e:
    raise SystemExit(f"error: {e}") from None
  mock = contextlib.nullcontext()
  data_source = "real"
  name = config.get("dataset", "digits")
  offline = name == "digits" or name in data.TEXT_DATASETS or name.startswith(data.TEXT_PREFIXES)
  if not offline and not _REAL_DATA.value:
    import tensorflow_datasets as tfds

    # Random labels: twice num_labels leaves every class enough examples for the balanced labelled draw.
    n = max(_MOCK_EXAMPLES.value, 2 * int(config.get("num_labels", 0)))
    mock = tfds.testing.mock_data(num_examples=n)
    data_source = f"tfds.testing.mock_data(num_examples={n})"
  with mock:
    task = module.build(config)
  return task, data_source


def image_shape(task):
  for v in task.arrays.values():
    if getattr(v, "ndim", 0) == 4:
      return tuple(v.shape[1:])
  return None


def torch_command(config, compile_: bool):
  """The torch_reference.py invocation matching the config's shapes, or (None, why not)."""
  if TORCH_TASKS.get(config.method) != config.get("model"):
    return None, f"no PyTorch reference for method {config.method!r} with model {config.get('model')!r}"
  if not os.path.exists(_TORCH_PYTHON.value):
    return None, f"{_TORCH_PYTHON.value} not found (create it as benchmarks/torch_reference.py's docstring says)"
  cmd = [
    _TORCH_PYTHON.value,
    REFERENCE,
    config.method,
    "--batch",
    str(config.batch_size),
    "--steps",
    str(_TORCH_STEPS.value),
    "--warmup",
    str(_TORCH_WARMUP.value),
    "--threads",
    str(len(os.sched_getaffinity(0))),  # the cores this process may use: a pinned run pins PyTorch alike
  ]
  if config.method == "fixmatch":
    cmd += ["--mu", str(config.mu)]
  if config.method == "mixmatch":
    cmd += ["--k", str(config.num_augment)]
  return cmd + (["--compile"] if compile_ else []), None


def run_torch(cmd):
  env = dict(
    os.environ,
    MALLOC_MMAP_MAX_="0",
    MALLOC_TRIM_THRESHOLD_="100000000000",
  )
  env.pop("XLA_FLAGS", None)
  r = subprocess.run(cmd, capture_output=True, text=True, env=env)
  if r.returncode:
    print(f"PyTorch reference failed ({' '.join(cmd)}):\n{r.stderr[-2000:]}", file=sys.stderr, flush=True)
    return None
  return json.loads(r.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------- timing


class Timer:
  """Times calls of `fn` one by one, blocking on the result; keeps wall and process-CPU seconds."""

  def __init__(self, name, fn):
    self.name, self.fn = name, fn
    self.times, self.cpu_per_wall, self.first_s = [], [], None

  def call(self, timed: bool):
    o0, t0 = os.times(), time.perf_counter()
    out = self.fn()
    t1, o1 = time.perf_counter(), os.times()
    if self.first_s is None:
      self.first_s = t1 - t0
    if timed:
      self.times.append(t1 - t0)
      self.cpu_per_wall.append(((o1.user - o0.user) + (o1.system - o0.system)) / (t1 - t0))
    return out

  def median(self):
    return statistics.median(self.times)


def compile_timed(name, jitted, *args):
  t0 = time.perf_counter()
  lowered = jitted.lower(*args)
  t1 = time.perf_counter()
  compiled = lowered.compile()
  t2 = time.perf_counter()
  print(
    f"[train_step] {name}: traced+lowered in {t1 - t0:.1f} s, compiled in {t2 - t1:.1f} s", file=sys.stderr, flush=True
  )
  return compiled, t1 - t0, t2 - t1


def xla_flops(compiled) -> float | None:
  try:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):
      cost = cost[0]
    return float(cost["flops"]) if cost and "flops" in cost else None
  except Exception:  # not every backend reports costs
    return None


def main(argv):
  try:
    flags.FLAGS(argv)
  except flags.Error as e:
    raise SystemExit(f"error: {str(e).splitlines()[0]}") from None
  config = _CONFIG.value
  if config is None:
    raise SystemExit("error: --config is required, e.g. --config configs/fixmatch_cifar10.py")
  if _WARMUP.value < 2:
    print(
      f"warning: --warmup {_WARMUP.value} < 2: the first executed step is slower than steady state", file=sys.stderr
    )
  variants = [v for v in _VARIANTS.value if v]
  unknown = set(variants) - {"full", "no_aug", "sample"}
  if unknown or not variants:
    raise SystemExit(f"error: --variants takes full, no_aug, sample; got {_VARIANTS.value}")

  import jax
  import jax.numpy as jnp
  from jax.sharding import PartitionSpec as P

  from ssljax import parallel, train

  load_before = os.getloadavg()
  mesh = parallel.make_mesh(_NUM_DEVICES.value)
  if config.batch_size % mesh.size:
    raise SystemExit(f"error: batch_size={config.batch_size} is not divisible by --num_devices={mesh.size}")
  config_name = os.path.splitext(os.path.basename(config_flags.get_config_filename(flags.FLAGS["config"])))[0]
  print(f"[train_step] {config_name}: building the task", file=sys.stderr, flush=True)
  task, data_source = build_task(config)
  shape = image_shape(task)
  ema_decay = config.get("ema_decay", 0.0) or None
  state0 = train.init_state(task, config.seed, mesh, ema=bool(ema_decay))
  data = parallel.put_replicated(task.arrays, mesh)
  fresh_state = lambda: jax.tree.map(jnp.copy, state0)  # the step donates its input state
  jax.block_until_ready((state0, data))

  # Each variant: a jitted fn, its arguments, and how to carry state from call to call.
  timers, compile_info, errors = {}, {}, {}
  # check_vma=False: the sample has no gradient, so the varying-axes type check only guards against a JAX
  # batching bug here (vmap of lax.switch inside shard_map, see the README); the compiled code is the same.
  sample_jit = jax.jit(
    jax.shard_map(task.sample, mesh=mesh, in_specs=(P(), P()), out_specs=P(parallel.AXIS), check_vma=False)
  )
  if "sample" in variants or "no_aug" in variants:
    keys = jax.random.split(jax.random.key(2), _WARMUP.value + _ROUNDS.value * _STEPS.value + 1)
    compiled_s, lower_s, comp_s = compile_timed("sample", sample_jit, data, keys[0])
    compile_info["sample"] = dict(lower_s=lower_s, compile_s=comp_s, xla_flops=xla_flops(compiled_s))
    counter = [0]

    def sample():
      counter[0] += 1
      return jax.block_until_ready(compiled_s(data, keys[counter[0] % len(keys)]))

    if "sample" in variants:
      timers["sample"] = Timer("sample", sample)

  if "full" in variants:
    step = train.make_step(task, mesh, ema_decay)
    try:
      compiled, lower_s, comp_s = compile_timed("full", step, fresh_state(), data)
    except Exception as e:  # e.g. a tracing error in the method: report it, time the other variants
      errors["full"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
      print(f"[train_step] the full step failed to compile: {errors['full']}", file=sys.stderr, flush=True)
    else:
      compile_info["full"] = dict(lower_s=lower_s, compile_s=comp_s, xla_flops=xla_flops(compiled))
      box = {"state": fresh_state()}

      def full():
        box["state"], m = compiled(box["state"], data)
        return jax.block_until_ready((box["state"], m))

      timers["full"] = Timer("full", full)
  if "no_aug" in variants:
    batch = jax.device_get(compiled_s(data, keys[-1]))  # one batch, augmented once, before timing
    fixed = dataclasses.replace(task, sample=lambda d, key: jax.tree.map(parallel.local_slice, d["batch"]))
    fixed_data = parallel.put_replicated({"batch": batch}, mesh)
    step_na = train.make_step(fixed, mesh, ema_decay)
    compiled_na, lower_s, comp_s = compile_timed("no_aug", step_na, fresh_state(), fixed_data)
    compile_info["no_aug"] = dict(lower_s=lower_s, compile_s=comp_s, xla_flops=xla_flops(compiled_na))
    box_na = {"state": fresh_state()}

    def no_aug():
      box_na["state"], m = compiled_na(box_na["state"], fixed_data)
      return jax.block_until_ready((box_na["state"], m))

    timers["no_aug"] = Timer("no_aug", no_aug)
  timers = {k: timers[k] for k in ("full", "no_aug", "sample") if k in timers}

  torch_cmds, torch_note = {}, None
  if _TORCH.value:
    for mode, flag in (("eager", False), ("compile", True)):
      if mode not in _TORCH_MODES.value:
        continue
      cmd, torch_note = torch_command(config, flag)
      if cmd:
        torch_cmds[mode] = cmd
  torch_runs = {mode: [] for mode in torch_cmds}

  peak_n = _PEAK_SIZE.value
  jax_peaks, np_peaks = [], []
  if peak_n:
    jax_peaks.append(jax_matmul_gflops(peak_n))
    np_peaks.append(numpy_matmul_gflops(peak_n))

  for timer in timers.values():
    for _ in range(_WARMUP.value):
      timer.call(timed=False)
    print(f"[train_step] {timer.name}: first step {timer.first_s:.2f} s", file=sys.stderr, flush=True)
  for r in range(_ROUNDS.value):
    for name, timer in timers.items():
      for _ in range(_STEPS.value):
        timer.call(timed=True)
      print(
        f"[train_step] round {r} {name}: median {timer.median() * 1e3:.0f} ms (load1 {os.getloadavg()[0]:.2f})",
        file=sys.stderr,
        flush=True,
      )
    for mode, cmd in torch_cmds.items():
      res = run_torch(cmd)
      if res:
        torch_runs[mode].append(res)
        print(f"[train_step] round {r} torch {mode}: {res['images_per_s']:.1f} img/s", file=sys.stderr, flush=True)
  if peak_n:  # again after the timing: the larger of the two sees less interference
    jax_peaks.append(jax_matmul_gflops(peak_n))
    np_peaks.append(numpy_matmul_gflops(peak_n))

  ips = task.images_per_step
  unit = task.info.get("step_unit", "images")  # what images_per_step counts: images, or tokens for text
  fwd_gflop = FWD_GFLOP_32.get(config.get("model")) if shape == (32, 32, 3) else None
  flops_source = (
    "3 x forward GFLOP/image of benchmarks/torch_reference.py's models (1 x for the Task's forward-only images)"
    if fwd_gflop
    else "XLA cost_analysis of the compiled step (x num_devices)"
  )
  jax_peak = max(jax_peaks) if jax_peaks else None
  np_peak = max([p for p in np_peaks if p], default=None)
  peak = max([p for p in (jax_peak, np_peak) if p], default=None)

  res = {
    "config": config_name,
    "method": config.method,
    "model": config.get("model"),
    "batch_size": config.batch_size,
    "mu": config.get("mu"),
    f"{unit}_per_step": ips,
    "num_devices": mesh.size,
    "data": data_source,
    "image_shape": list(shape) if shape else None,
  }

  def rates(name):
    t = timers[name]
    step_s = t.median()
    return step_s, {
      "step_ms": round(step_s * 1e3, 1),
      "min_step_ms": round(min(t.times) * 1e3, 1),
      "max_step_ms": round(max(t.times) * 1e3, 1),
      "first_step_s": round(t.first_s, 3),
      "cpu_per_wall": round(statistics.median(t.cpu_per_wall), 2),
    }

  # Forward+backward ≈ 3 forwards per image; the Task says which forwards have no backward (label guesses,
  # momentum networks, teachers).

  def gflop_s(step_s, name):
    if fwd_gflop:
      return fwd_gflop * task.flop_images / step_s
    flops = compile_info[name]["xla_flops"]
    return flops * mesh.size / 1e9 / step_s if flops else None

  main_variant = "full" if "full" in timers else None
  if "full" in errors:
    res.update({f"{unit}_per_sec": None, "full_error": errors["full"]})
  if main_variant:
    step_s, stats = rates(main_variant)
    res.update(
      variant=main_variant,
      **{f"{unit}_per_sec": round(ips / step_s, 2)},
      **stats,
      compile_s=round(compile_info[main_variant]["lower_s"] + compile_info[main_variant]["compile_s"], 2),
      lower_s=round(compile_info[main_variant]["lower_s"], 2),
    )
    g = gflop_s(step_s, main_variant)
    res["achieved_gflop_s"] = round(g, 1) if g else None
  if "no_aug" in timers:
    step_s, stats = rates("no_aug")
    g = gflop_s(step_s, "no_aug")
    res.update(
      **{f"no_aug_{unit}_per_sec": round(ips / step_s, 2)},
      no_aug_step_ms=stats["step_ms"],
      no_aug_compile_s=round(compile_info["no_aug"]["lower_s"] + compile_info["no_aug"]["compile_s"], 2),
      no_aug_achieved_gflop_s=round(g, 1) if g else None,
      no_aug_cpu_per_wall=stats["cpu_per_wall"],
    )
  if "sample" in timers:
    step_s, stats = rates("sample")
    res.update(
      sample_ms=stats["step_ms"],
      **{f"sample_{unit}_per_sec": round(ips / step_s, 1)},
      sample_compile_s=round(compile_info["sample"]["lower_s"] + compile_info["sample"]["compile_s"], 2),
    )
  res.update(
    fwd_gflop_per_image=fwd_gflop,
    flops_source=flops_source,
    xla_cost_gflop_per_step={
      k: round(v["xla_flops"] * mesh.size / 1e9, 1) if v["xla_flops"] else None for k, v in compile_info.items()
    },
  )
  res.update(
    cpu=cpu_name(),
    peak_gflop_s=round(peak, 1) if peak else None,
    jax_matmul_gflop_s=round(jax_peak, 1) if jax_peak else None,
    numpy_matmul_gflop_s=round(np_peak, 1) if np_peak else None,
    peak_matmul_size=peak_n or None,
  )
  if peak and res.get("achieved_gflop_s"):
    res["fraction_of_peak"] = round(res["achieved_gflop_s"] / peak, 3)
  if peak and res.get("no_aug_achieved_gflop_s"):
    res["no_aug_fraction_of_peak"] = round(res["no_aug_achieved_gflop_s"] / peak, 3)

  if _TORCH.value:
    for mode in [m for m in ("eager", "compile") if m in _TORCH_MODES.value]:
      runs = torch_runs.get(mode, [])
      t_ips = statistics.median(x["images_per_s"] for x in runs) if runs else None
      res[f"torch_{mode}_images_per_sec"] = round(t_ips, 2) if t_ips else None
      res[f"ratio_vs_torch_{mode}"] = round(res["images_per_sec"] / t_ips, 3) if t_ips and main_variant else None
      if t_ips and "no_aug_images_per_sec" in res:
        res[f"no_aug_ratio_vs_torch_{mode}"] = round(res["no_aug_images_per_sec"] / t_ips, 3)
      if runs:
        res[f"torch_{mode}_runs_images_per_sec"] = [round(x["images_per_s"], 1) for x in runs]
        res[f"torch_{mode}_loadavg"] = [
          [round(x["loadavg_before"][0], 2), round(x["loadavg_after"][0], 2)] for x in runs
        ]
    if torch_note:
      res["torch_note"] = torch_note
    if torch_cmds:
      res["torch_command"] = (
        " ".join(["env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000"] + torch_cmds.get("eager", []))
        + " [--compile]"
      )
  res.update(
    warmup=_WARMUP.value,
    steps=_STEPS.value,
    rounds=_ROUNDS.value,
    jax=jax.__version__,
    backend=jax.default_backend(),
    xla_flags=os.environ.get("XLA_FLAGS", ""),
    compilation_cache=os.environ.get("JAX_COMPILATION_CACHE_DIR") or None,
    loadavg_before=[round(x, 2) for x in load_before],
    loadavg_after=[round(x, 2) for x in os.getloadavg()],
    time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
  )
  print(json.dumps(res), flush=True)
  return res


if __name__ == "__main__":
  main(sys.argv)
