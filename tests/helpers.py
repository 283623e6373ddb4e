"""Shared test helpers: configs shrunk to tiny shapes (each compile takes seconds), a few steps on a mesh."""

import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# Every training config shrinks the same way: whichever of these keys it has.
TINY = {
  "batch_size": 8,
  "total_steps": 4,
  "checkpoint_every": 2,
  "eval_every": 1000,
  "log_every": 2,
  "warmup_steps": 1,
  "model_kwargs.width": 4,
  "mu": 2,
  "num_augment": 2,
  "proj_dim": 8,
  "proj_hidden_dim": 8,
  "head_hidden_dim": 8,
  "alignment_steps": 4,
  # VAT's finite difference amplifies rounding by 1/ξ: ξ = 1e-6 would leave ~1e-16/ξ = 1e-10 between device counts.
  "vat_xi": 1e-3,
  "probe_batch_size": 8,
  "pred_hidden_dim": 8,
  "queue_size": 16,
  "num_prototypes": 8,
  "local_crop_size": 4,
  "teacher_temp_warmup_steps": 2,
  "freeze_prototypes_steps": 0,
  "queue_start_step": 0,
  "decoder_width": 8,
  "crop_size": 8,
  "seq_len": 16,
  "vocab_size": 300,
  "ngram_max_order": 2,
  "model_kwargs.depth": 1,
  "model_kwargs.num_heads": 2,
  "model_kwargs.max_len": 16,
}
# ... and so that every loss term moves the parameters from the first step (a term that is switched off would also
# match between 1 and N devices): low confidence thresholds, no ramp-ups, weights that matter.
LIVE = {
  "threshold": 0.05,
  "rampup_steps": 0,
  "lambda_u": 10.0,
  "entropy_weight": 0.5,
  "num_local_crops": 2,
  "border": 1,
  "mlm_weight": 1.0,
}
# Adaptive thresholds and weights: statistics that move within a few steps, a fairness term that counts.
LIVE.update({"ema_p": 0.5, "lambda_f": 1.0})
# Methods with no digits config (they need colour images): the config the shared tests shrink instead.
TEST_CONFIGS = {"colorization": "colorization_photos"}


def load_config(name: str, **overrides):
  """configs/<name>.py with dotted-key overrides."""
  from ssljax import configs

  return configs.override(configs.get(name), overrides)


def _has(config, key):
  target = config
  for part in key.split("."):
    if part not in target:
      return False
    target = target[part]
  return True


def config_name(method: str) -> str:
  """The config the shared tests shrink: configs/<method>_digits.py, else the method's first config by name (the
  text methods have configs/<method>_text.py; TEST_CONFIGS names the others)."""
  if method in TEST_CONFIGS:
    return TEST_CONFIGS[method]
  if os.path.exists(os.path.join(REPO, "configs", f"{method}_digits.py")):
    return f"{method}_digits"
  found = sorted(glob.glob(os.path.join(REPO, "configs", f"{method}_*.py")))
  if not found:
    raise FileNotFoundError(f"no configs/{method}_*.py")
  return os.path.basename(found[0])[:-3]


def tiny_config(method: str, live: bool = True, **overrides):
  """The method's config (config_name) at tiny shapes (and with every loss term live unless live=False). A config
  that learns from a teacher run (a method with teacher_workdir) gets tiny_teacher() unless told otherwise."""
  name = config_name(method)
  config = load_config(name)
  shrink = {**TINY, **(LIVE if live else {})}
  config = load_config(name, **{**{k: v for k, v in shrink.items() if _has(config, k)}, **overrides})
  from ssljax import methods

  if config.method in methods.METHODS and "teacher_workdir" in config and "teacher_workdir" not in overrides:
    config.teacher_workdir = tiny_teacher()
  return config


_TEACHERS = {}


def tiny_teacher() -> str:
  """The workdir of a finished tiny supervised run on digits, trained once per test process."""
  if "dir" not in _TEACHERS:
    import atexit
    import shutil
    import tempfile

    from ssljax import train
    from ssljax.methods import supervised

    root = tempfile.mkdtemp(prefix="ssljax-teacher-")
    atexit.register(shutil.rmtree, root, True)
    workdir = os.path.join(root, "teacher")
    train.train_and_evaluate(tiny_config("supervised", live=False), workdir, supervised)
    _TEACHERS["dir"] = workdir
  return _TEACHERS["dir"]


def tiny_fixmatch(**overrides):
  return tiny_config("fixmatch", live=False, **overrides)


TINY_ARGS = [f"--config.{k}={v}" for k, v in TINY.items() if _has(load_config("fixmatch_digits"), k)]


def run_steps(config_or_task, num_devices, steps, ema_decay=0.999):
  """`steps` train steps on a mesh of the first `num_devices` devices; returns (host state, host metrics).

  Given a config, builds the task and runs in the config's precision (float64 for dtype='float64').
  """
  import jax

  from ssljax import methods, parallel, train

  if isinstance(config_or_task, train.Task):
    task, context, seed = config_or_task, train.precision({}), 0
  else:
    config = config_or_task
    context, seed = train.precision(config), config.seed
    ema_decay = config.get("ema_decay") or None
  with context:
    if not isinstance(config_or_task, train.Task):
      task = methods.get(config.method).build(config)
    mesh = parallel.make_mesh(num_devices)
    state = train.init_state(task, seed=seed, mesh=mesh, ema=bool(ema_decay))
    data = parallel.put_replicated(task.arrays, mesh)
    step = train.make_step(task, mesh, ema_decay=ema_decay)
    metrics = []
    for _ in range(steps):
      state, m = step(state, data)
      metrics.append(jax.device_get(m))
    return jax.device_get(state), metrics


def data_mesh(num_devices: int):
  """A 1-D mesh of the first `num_devices` devices over the axis "data"; the test is skipped where there are fewer."""
  import jax
  import pytest

  if jax.device_count() < num_devices:
    pytest.skip(f"needs {num_devices} devices")
  return jax.make_mesh((num_devices,), ("data",))


def put(mesh, spec, *xs):
  """The arrays placed on `mesh` with PartitionSpec `spec` (make_mesh's axes are Explicit by default)."""
  import jax
  from jax.sharding import NamedSharding

  return [jax.device_put(x, NamedSharding(mesh, spec)) for x in xs]


def softmax64(z, axis=-1):
  """softmax in float64 numpy: the reference the loss tests compare against."""
  import numpy as np

  z = np.asarray(z, np.float64)
  e = np.exp(z - z.max(axis, keepdims=True))
  return e / e.sum(axis, keepdims=True)


def read_json(path):
  with open(path) as f:
    return json.load(f)


def assert_picture(path, min_size=(300, 300)):
  """The PNG at `path` opens, is at least min_size (width, height) and is not blank."""
  import numpy as np
  from PIL import Image

  with Image.open(path) as image:
    image.load()
    assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], image.size
    pixels = np.asarray(image.convert("RGB"), np.float64)
  assert pixels.std() > 5.0, f"{path} is blank"
