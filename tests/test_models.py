"""Tests for ssljax.models: shapes, parameter counts against the PyTorch reference, BatchNorm."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ssljax import models


def param_count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def abstract_variables(model, shape):
  return jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(shape), train=False))


def numpy_variables(model, x):
  """Variables of the right structure from numpy (jax.random init compiles slowly on CPU)."""
  abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  rng = np.random.default_rng(0)

  def fill(path, s):
    name = jax.tree_util.keystr(path)
    if 'var' in name or 'scale' in name:
      return np.ones(s.shape, s.dtype)
    if 'mean' in name or 'bias' in name:
      return np.zeros(s.shape, s.dtype)
    fan_in = np.prod(s.shape[:-1])
    return (rng.normal(size=s.shape) / np.sqrt(fan_in)).astype(s.dtype)

  return jax.tree_util.tree_map_with_path(fill, abstract)


def torch_wrn_params(depth, widen, num_classes):
  """Parameter count of benchmarks/torch_models.py's WideResNet, by formula (torch not installed)."""
  n = (depth - 4) // 6
  ch = [16, 16 * widen, 32 * widen, 64 * widen]
  total = 3 * 16 * 9
  for g, stride in enumerate([1, 2, 2]):
    for i in range(n):
      cin, cout = (ch[g] if i == 0 else ch[g + 1]), ch[g + 1]
      total += 2 * cin + 9 * cin * cout + 2 * cout + 9 * cout * cout
      if cin != cout or (stride if i == 0 else 1) != 1:
        total += cin * cout
  return total + 2 * ch[3] + ch[3] * num_classes + num_classes


def torch_resnet18_params():
  """Parameter count of benchmarks/torch_models.py's ResNet18Cifar (backbone, no fc)."""
  total, cin = 3 * 64 * 9 + 2 * 64, 64
  for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
    for s in [stride, 1]:
      total += 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout
      if s != 1 or cin != cout:
        total += cin * cout + 2 * cout
      cin = cout
  return total


def test_param_counts_match_torch_reference():
  assert torch_wrn_params(28, 2, 10) == 1_467_610  # The FixMatch paper's 1.47M.
  wrn = models.Classifier(models.get_encoder('wrn28_2'), 10)
  assert param_count(abstract_variables(wrn, (2, 32, 32, 3))['params']) == torch_wrn_params(28, 2, 10)
  wrn8 = models.Classifier(models.get_encoder('wrn28_8'), 100)
  assert param_count(abstract_variables(wrn8, (2, 32, 32, 3))['params']) == torch_wrn_params(28, 8, 100)
  resnet = abstract_variables(models.get_encoder('resnet18'), (2, 32, 32, 3))
  assert param_count(resnet['params']) == torch_resnet18_params() == 11_168_832


@pytest.mark.parametrize(
  'name,shape,dim',
  [
    ('cnn', (2, 8, 8, 1), 128),
    ('wrn28_2', (2, 32, 32, 3), 128),
    ('wrn28_8', (2, 32, 32, 3), 512),
    ('resnet18', (2, 32, 32, 3), 512),
    ('resnet18', (2, 96, 96, 3), 512),
  ],
)
def test_feature_shapes(name, shape, dim):
  encoder = models.get_encoder(name)
  model = models.Classifier(encoder, 7)
  variables = abstract_variables(model, shape)
  x = jnp.zeros(shape)
  logits = jax.eval_shape(lambda v: model.apply(v, x, train=False), variables)
  enc_vars = lambda v: {k: v[k]['encoder'] for k in v}
  feats = jax.eval_shape(lambda v: encoder.apply(enc_vars(v), x, train=False), variables)
  assert logits.shape == (shape[0], 7) and feats.shape == (shape[0], dim)
  assert feats.dtype == jnp.float32


def test_wrn_updates_every_batchnorm():
  # One compiled train-mode forward at batch 2 on a small image; WRN-10-1 is WRN-28-2's code.
  model, dim = models.WideResNet(depth=10, widen=1), 64
  x = np.random.default_rng(1).uniform(size=(2, 8, 8, 3)).astype(np.float32)
  variables = numpy_variables(model, x)
  feats, updates = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=['batch_stats']))(variables, x)
  assert feats.shape == (2, dim) and bool(jnp.isfinite(feats).all())
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables['batch_stats'], updates['batch_stats'])
  assert all(jax.tree.leaves(changed))


def test_get_encoder_unknown():
  with pytest.raises(ValueError, match='wrn28_2'):
    models.get_encoder('vgg')


F64 = {'dtype': jnp.float64, 'param_dtype': jnp.float64}


@jax.enable_x64(True)
def test_cnn_batchnorm_train_and_eval():
  # float64: the only differences from the direct computation are summation orders (~1e-15 relative).
  model = models.Classifier(models.CNN(width=4, bn_momentum=0.9, **F64), 10, **F64)
  x = np.random.default_rng(1).uniform(size=(8, 8, 8, 1))
  variables = numpy_variables(model, x)
  assert param_count(variables['params']) == (9 * 4 + 9 * 4 * 8 + 9 * 8 * 16 + 2 * (4 + 8 + 16) + 16 * 10 + 10)
  logits, updates = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=['batch_stats']))(variables, x)
  assert logits.shape == (8, 10)
  stats = variables['batch_stats']['encoder']['BatchNorm_0']
  new = updates['batch_stats']['encoder']['BatchNorm_0']
  h = jax.lax.conv_general_dilated(
    x, variables['params']['encoder']['Conv_0']['kernel'], (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC')
  )
  np.testing.assert_allclose(new['mean'], 0.9 * stats['mean'] + 0.1 * h.mean((0, 1, 2)), rtol=1e-12, atol=1e-14)
  np.testing.assert_allclose(new['var'], 0.9 * stats['var'] + 0.1 * h.var((0, 1, 2)), rtol=1e-12, atol=1e-14)
  # Eval mode: deterministic and each example independent of the rest of the batch.
  evaluate = jax.jit(lambda v, x: model.apply(v, x, train=False))
  a = evaluate(variables, x)
  b = evaluate(variables, x[::-1])[::-1]
  np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
  np.testing.assert_array_equal(a, evaluate(variables, x))


@jax.enable_x64(True)
@pytest.mark.parametrize('n', [2, 4, 8])
def test_batchnorm_axis_name_in_shard_map(n):
  if jax.device_count() < n:
    pytest.skip(f'needs {n} devices')
  mesh = jax.make_mesh((n,), ('data',))
  model = models.Classifier(models.get_encoder('cnn', width=4, axis_name='data', **F64), 10, **F64)
  reference = models.Classifier(models.get_encoder('cnn', width=4, **F64), 10, **F64)
  x = np.random.default_rng(1).normal(size=(2 * n, 8, 8, 1))
  variables = numpy_variables(reference, x)

  def step(v, x):
    return model.apply(v, x, train=True, mutable=['batch_stats'])

  sharded = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(P(), P('data')), out_specs=(P('data'), P())))
  logits, updates = sharded(variables, jax.device_put(x, NamedSharding(mesh, P('data'))))
  ref_logits, ref_updates = jax.jit(lambda v, x: reference.apply(v, x, train=True, mutable=['batch_stats']))(
    variables, x
  )
  np.testing.assert_allclose(logits, ref_logits, rtol=1e-12, atol=1e-13)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14), updates, ref_updates)


def test_initializer_variances():
  from ssljax.models import initializers

  shape = (3, 3, 64, 128)
  draws = jax.jit(
    lambda k: [
      init(kk, shape)
      for init, kk in zip(
        [initializers.lecun_normal, initializers.kaiming_normal_fan_out, initializers.xavier_normal],
        jax.random.split(k, 3),
      )
    ]
  )(jax.random.key(0))
  fan_in, fan_out = 9 * 64, 9 * 128
  for draw, var in zip(draws, [1 / fan_in, 2 / fan_out, 2 / (fan_in + fan_out)]):
    assert draw.shape == shape
    np.testing.assert_allclose(np.var(draw), var, rtol=0.03)
  assert np.abs(draws[0]).max() <= 2 * np.sqrt(1 / fan_in) / 0.8796 + 1e-6  # Truncated at 2 std.
  assert np.abs(draws[1]).max() > 3 * np.sqrt(2 / fan_out)  # Untruncated.


def torch_wrn_state(depth, widen, num_classes, seed=0):
  """A state dict named and shaped as benchmarks/torch_models.py's WideResNet, filled by numpy."""
  n = (depth - 4) // 6
  ch = [16, 16 * widen, 32 * widen, 64 * widen]
  bn = lambda p, c: [
    (f'{p}.weight', (c,)),
    (f'{p}.bias', (c,)),
    (f'{p}.running_mean', (c,)),
    (f'{p}.running_var', (c,)),
  ]
  names = [('conv1.weight', (ch[0], 3, 3, 3))]
  for g, stride in enumerate([1, 2, 2]):
    for i in range(n):
      cin, cout, b = (ch[g] if i == 0 else ch[g + 1]), ch[g + 1], f'blocks.{g * n + i}.'
      names += bn(b + 'bn1', cin) + [(b + 'conv1.weight', (cout, cin, 3, 3))]
      names += bn(b + 'bn2', cout) + [(b + 'conv2.weight', (cout, cout, 3, 3))]
      if cin != cout or (stride if i == 0 else 1) != 1:
        names.append((b + 'shortcut.weight', (cout, cin, 1, 1)))
  names += bn('bn', ch[3]) + [('fc.weight', (num_classes, ch[3])), ('fc.bias', (num_classes,))]
  return fill_state(names, seed)


def fill_state(names, seed):
  """Random values for (torch name, shape) pairs; conv/linear weights He-scaled."""
  rng = np.random.default_rng(seed)
  state = {}
  for name, shape in names:
    if name.endswith('running_var'):
      v = rng.uniform(0.5, 2.0, shape)
    elif name.endswith('bias') or name.endswith('running_mean'):
      v = rng.uniform(-0.2, 0.2, shape)
    elif len(shape) == 1:  # BatchNorm weight.
      v = rng.uniform(0.5, 1.5, shape)
    else:
      v = rng.normal(size=shape) * np.sqrt(2 / np.prod(shape[1:]))
    state[name] = v.astype(np.float32)
  return state


def flax_wrn_variables(state, num_blocks):
  conv = lambda w: w.transpose(2, 3, 1, 0)  # OIHW -> HWIO.
  bn = lambda p: (
    {'scale': state[p + '.weight'], 'bias': state[p + '.bias']},
    {'mean': state[p + '.running_mean'], 'var': state[p + '.running_var']},
  )
  params, stats = {'Conv_0': {'kernel': conv(state['conv1.weight'])}}, {}
  for i in range(num_blocks):
    b, p, s = f'blocks.{i}.', {}, {}
    (p['BatchNorm_0'], s['BatchNorm_0']), (p['BatchNorm_1'], s['BatchNorm_1']) = bn(b + 'bn1'), bn(b + 'bn2')
    p['Conv_0'], p['Conv_1'] = {'kernel': conv(state[b + 'conv1.weight'])}, {'kernel': conv(state[b + 'conv2.weight'])}
    if b + 'shortcut.weight' in state:
      p['Conv_2'] = {'kernel': conv(state[b + 'shortcut.weight'])}
    params[f'WRNBlock_{i}'], stats[f'WRNBlock_{i}'] = p, s
  params['BatchNorm_0'], stats['BatchNorm_0'] = bn('bn')
  head = {'kernel': state['fc.weight'].T, 'bias': state['fc.bias']}
  return {'params': {'encoder': params, 'head': head}, 'batch_stats': {'encoder': stats}}


# Logits of benchmarks/torch_models.py's WideResNet(10, 1, 10) loaded with torch_wrn_state(10, 1, 10)
# on WRN_INPUT (NCHW there), eval and train mode. To regenerate with a PyTorch install:
#   m = WideResNet(10, 1, 10); m.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
#   m.eval(); m(torch.tensor(x_nchw)); m.train(); m(torch.tensor(x_nchw))
WRN_INPUT = lambda: np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32)
TORCH_WRN_EVAL = [
  [1.695857, 0.940465, -1.778987, -3.364329, -5.392011, -0.518527, -0.282351, 3.125165, -0.665732, 1.020057],
  [2.118764, 2.733672, -1.797349, -2.213627, -6.696442, -0.149135, 0.960504, 5.665838, -0.008965, 0.043645],
]
TORCH_WRN_TRAIN = [
  [0.167686, -0.076360, -0.627437, -0.331046, -0.373498, 0.496868, -0.618276, 0.541854, 0.494282, 0.165100],
  [1.587145, 0.559991, -0.756841, 1.286847, -0.208696, 0.406830, -0.271134, 0.928466, 1.400600, -0.259081],
]


@jax.enable_x64(True)
def test_wrn_matches_torch_reference():
  # Same weights as the PyTorch reference gives the same logits: the architecture (pre-activation
  # order, activate_before_residual, shortcuts, padding, BN epsilon, final BN) is the reference's. Ours runs in
  # float64, so the tolerance only has to cover the recorded float32 reference (and its 6 printed decimals).
  model = models.Classifier(models.WideResNet(depth=10, widen=1, **F64), 10, **F64)
  variables = jax.tree.map(lambda a: a.astype(np.float64), flax_wrn_variables(torch_wrn_state(10, 1, 10), 3))
  x = WRN_INPUT().transpose(0, 2, 3, 1).astype(np.float64)
  abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  assert jax.tree.structure(abstract) == jax.tree.structure(variables)

  @jax.jit
  def run(v, x):
    return model.apply(v, x, train=False), model.apply(v, x, train=True, mutable=['batch_stats'])[0]

  logits_eval, logits_train = run(variables, x)
  np.testing.assert_allclose(logits_eval, TORCH_WRN_EVAL, atol=2e-5, rtol=1e-5)
  np.testing.assert_allclose(logits_train, TORCH_WRN_TRAIN, atol=2e-5, rtol=1e-5)


def torch_resnet18_state(seed=0):
  """A state dict named and shaped as benchmarks/torch_models.py's ResNet18Cifar, filled by numpy."""
  bn = lambda p, c: [
    (f'{p}.weight', (c,)),
    (f'{p}.bias', (c,)),
    (f'{p}.running_mean', (c,)),
    (f'{p}.running_var', (c,)),
  ]
  names, cin, i = [('conv1.weight', (64, 3, 3, 3))] + bn('bn1', 64), 64, 0
  for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
    for s in [stride, 1]:
      b = f'layers.{i}.'
      names += [(b + 'conv1.weight', (cout, cin, 3, 3))] + bn(b + 'bn1', cout)
      names += [(b + 'conv2.weight', (cout, cout, 3, 3))] + bn(b + 'bn2', cout)
      if s != 1 or cin != cout:
        names += [(b + 'shortcut.0.weight', (cout, cin, 1, 1))] + bn(b + 'shortcut.1', cout)
      cin, i = cout, i + 1
  return fill_state(names, seed)


def flax_resnet18_variables(state):
  conv = lambda w: {'kernel': w.transpose(2, 3, 1, 0)}
  bn = lambda p: (
    {'scale': state[p + '.weight'], 'bias': state[p + '.bias']},
    {'mean': state[p + '.running_mean'], 'var': state[p + '.running_var']},
  )
  params, stats = {'Conv_0': conv(state['conv1.weight'])}, {}
  params['BatchNorm_0'], stats['BatchNorm_0'] = bn('bn1')
  for i in range(8):
    b, p, s = f'layers.{i}.', {}, {}
    p['Conv_0'], p['Conv_1'] = conv(state[b + 'conv1.weight']), conv(state[b + 'conv2.weight'])
    for j, name in enumerate(['bn1', 'bn2', 'shortcut.1']):
      if b + name + '.weight' in state:
        p[f'BatchNorm_{j}'], s[f'BatchNorm_{j}'] = bn(b + name)
    if b + 'shortcut.0.weight' in state:
      p['Conv_2'] = conv(state[b + 'shortcut.0.weight'])
    params[f'BasicBlock_{i}'], stats[f'BasicBlock_{i}'] = p, s
  return {'params': params, 'batch_stats': stats}


# First 6 features of benchmarks/torch_models.py's ResNet18Cifar loaded with torch_resnet18_state()
# on WRN_INPUT, eval and train mode (regenerate as TORCH_WRN_* above).
TORCH_R18_EVAL = [
  [0.959911, 1.203569, 5.559634, 1.855920, 0.190468, 2.543634],
  [0.000000, 1.469230, 3.829018, 5.634641, 0.330258, 3.180018],
]
TORCH_R18_TRAIN = [
  [1.009683, 1.093338, 0.000000, 0.000000, 0.726423, 0.838946],
  [0.393304, 0.000000, 1.229495, 2.377048, 0.000000, 1.735343],
]


@jax.enable_x64(True)
def test_resnet18_matches_torch_reference():
  model = models.ResNet18(**F64)
  variables = jax.tree.map(lambda a: a.astype(np.float64), flax_resnet18_variables(torch_resnet18_state()))
  x = WRN_INPUT().transpose(0, 2, 3, 1).astype(np.float64)
  abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))
  assert jax.tree.structure(abstract) == jax.tree.structure(variables)

  @jax.jit
  def run(v, x):
    return model.apply(v, x, train=False), model.apply(v, x, train=True, mutable=['batch_stats'])

  feats_eval, (feats_train, updates) = run(variables, x)
  np.testing.assert_allclose(feats_eval[:, :6], TORCH_R18_EVAL, atol=2e-5, rtol=1e-5)
  # Looser: the last stage's batch statistics come from 2 values per channel here.
  np.testing.assert_allclose(feats_train[:, :6], TORCH_R18_TRAIN, atol=1e-4, rtol=1e-3)
  # Train mode moves the running statistics by (1 - momentum) towards the batch's.
  old, new = variables['batch_stats']['BatchNorm_0']['mean'], updates['batch_stats']['BatchNorm_0']['mean']
  assert 0 < np.abs(new - old).max() < 0.2 * np.abs(old).max() + 1.0
