"""Knowledge distillation (Hinton et al., 2015): a student trained on the labelled cross-entropy plus
α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) over labelled and unlabelled images, from a finished teacher run.

The teacher is read from config.teacher_workdir (its config.json, its latest checkpoint: the EMA weights when it kept
them, and its BatchNorm running statistics), frozen in the method state and applied in inference mode to the same
views as the student (consistent teaching). The student is config.model / config.model_kwargs (e.g. the digits CNN
at half width): teacher and student may differ. With teacher_workdir='' and teacher_config set, launch.py first
trains teacher_config as stage 0 of the job (ssljax/pipelines/distill.py).
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ssljax import checks, losses, models, train
from ssljax.errors import ConfigError
from ssljax.methods import common

CHECKS = {
  "teacher_workdir": checks.Check(lambda v: isinstance(v, str), "a finished run's workdir, or ''", 0),
  "teacher_config": checks.Check(lambda v: isinstance(v, str), "a config name or file, or ''", 0),
  "temperature": checks.POSITIVE,
  "alpha": checks.NON_NEGATIVE,
  "mu": checks.POSITIVE_INT,
  "view": checks.one_of("weak", "strong"),
}


def check_config(config):
  if config.model not in models.ENCODERS:
    raise ConfigError(
      f"config.model={config.model!r} (the student) is not a model; choose one of {', '.join(models.ENCODERS)}"
    )
  if config.teacher_workdir:
    check_teacher(config, config.teacher_workdir)
  elif not config.teacher_config:
    raise ConfigError(
      "config.teacher_workdir and config.teacher_config are both empty: name a finished teacher run, or a config "
      "to train one"
    )


def check_teacher(config, workdir: str):
  """The finished run in `workdir` can teach this config's student (read from its config.json: no compile)."""
  teacher = train.run_config(workdir)
  for key in ("dataset", "image_size"):
    if teacher.get(key) != config.get(key):
      raise ConfigError(
        f"config.teacher_workdir={workdir!r} is a run on {key} {teacher.get(key)!r}; the student's {key} is "
        f"{config.get(key)!r}"
      )
  return teacher


def load_teacher(config, ds):
  """(teacher model built at the student's precision, its evaluated variables on the host, teacher config)."""
  t_config, _, t_state = train.load_run(config.teacher_workdir)
  t_config = ml_collections.ConfigDict(t_config.to_dict())
  t_config.dtype = config.dtype
  model = common.classifier(t_config, ds)
  variables = jax.device_get(common.eval_variables(t_state))
  fresh = jax.eval_shape(common.init_fn(model, ds), jax.random.key(0, impl="rbg"))
  shapes = lambda tree: jax.tree.map(lambda x: tuple(np.shape(x)), tree)
  if shapes({k: fresh.get(k, {}) for k in variables}) != shapes(variables):
    raise ConfigError(
      f"config.teacher_workdir={config.teacher_workdir!r} is a {t_config.method} run whose parameters are not a "
      f"{t_config.model} classifier's; the teacher must be a classifier run"
    )
  return model, variables, t_config


def num_params(params) -> int:
  return int(sum(np.prod(np.shape(p)) for p in jax.tree.leaves(params)))


def build(config) -> train.Task:
  if not config.teacher_workdir:
    raise ConfigError(
      "config.teacher_workdir is empty: distill needs a finished teacher run (launch.py trains config.teacher_config "
      "first when it is set)"
    )
  check_teacher(config, config.teacher_workdir)
  setup = common.semi_supervised(config, pseudo_labels=True)
  teacher, teacher_vars, t_config = load_teacher(config, setup.ds)
  temperature, alpha = float(config.temperature), float(config.alpha)
  _, param_dtype = common.dtypes(config)

  def init_method_state(variables):
    del variables
    return jax.tree.map(
      lambda v: jnp.asarray(v, param_dtype if jnp.issubdtype(v.dtype, jnp.floating) else v.dtype), teacher_vars
    )

  sample = common.same_view_sampler(setup.b, setup.mu, setup.view, setup.dtype)

  def loss(params, state, batch, key):
    del key
    x = setup.normalize(jnp.concatenate([batch["x_l"], batch["u"]]))
    logits, batch_stats = common.forward(setup.model, params, state.batch_stats, x)
    t_logits = jax.lax.stop_gradient(teacher.apply(state.method_state, x, train=False))
    n_l = batch["x_l"].shape[0]
    sup = losses.cross_entropy(logits[:n_l], batch["y_l"]).mean()
    kd = losses.distillation(logits, t_logits, temperature).mean()
    t_pred = jnp.argmax(t_logits, -1)
    metrics = {
      "loss": sup + alpha * kd,
      "sup_loss": sup,
      "kd_loss": kd,
      "teacher_agreement": jnp.mean((jnp.argmax(logits, -1) == t_pred).astype(logits.dtype)),
      # The teacher's accuracy on the unlabelled batch (hidden labels): the ceiling of what it teaches.
      "teacher_acc_u": common.hidden_label_accuracy(t_pred[n_l:], batch["y_u"]),
    }
    return metrics["loss"], train.LossOutput(metrics, batch_stats)

  teacher_results = train.read_results(config.teacher_workdir)
  student_params = jax.eval_shape(common.init_fn(setup.model, setup.ds), jax.random.key(0, impl="rbg"))["params"]
  info = {
    "num_params": num_params(student_params),
    "teacher_num_params": num_params(teacher_vars["params"]),
    "teacher_method": t_config.method,
    "teacher_model": t_config.model,
    "teacher_test_accuracy": teacher_results.get("test_accuracy"),
  }
  return setup.task(
    config,
    sample=sample,
    loss=loss,
    init_method_state=init_method_state,
    images_per_step=setup.b * (1 + setup.mu),
    forward_only_images=setup.b * (1 + setup.mu),  # the teacher on the same rows (counted as the student's network)
    log_keys=("loss", "sup_loss", "kd_loss", "teacher_agreement", "teacher_acc_u"),
    info=info,
  )
