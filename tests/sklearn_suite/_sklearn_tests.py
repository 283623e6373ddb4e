"""Loads scikit-learn's own unit tests (shipped inside the installed package) against ssljax's estimators.

Each test module is executed afresh from scikit-learn's installation under a new name, with the estimator
names it imports bound to ssljax's classes; its assertions run unchanged. Nothing is copied into this repository.
"""

import importlib.util
import os
import types

import sklearn


def load(relpath, name, patches, aliases=()):
  """Executes sklearn/<relpath> as module `name` while `patches` [(module, attr, value)] are in place.

  The patches make `from sklearn.x import Estimator` (and parametrize lists built at import time) see ssljax's
  classes; they are undone afterwards, so scikit-learn itself is left as it was. `aliases` [(global name,
  module, {attr: value})] rebinds a module the tests import whole to a copy with those attributes replaced,
  for the names the test bodies look up at call time.
  """
  path = os.path.join(os.path.dirname(sklearn.__file__), *relpath.split('/'))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  saved = [(m, a, getattr(m, a)) for m, a, _ in patches]
  try:
    for m, a, v in patches:
      setattr(m, a, v)
    spec.loader.exec_module(module)
  finally:
    for m, a, v in saved:
      setattr(m, a, v)
  for global_name, original, replaced in aliases:
    copy = types.ModuleType(original.__name__)
    copy.__dict__.update(vars(original))
    copy.__dict__.update(replaced)
    setattr(module, global_name, copy)
  return module


def exported(module):
  """The test functions, test classes and fixtures of a loaded module, for a test file's globals()."""
  out = {}
  for key, value in vars(module).items():
    is_fixture = type(value).__name__ == 'FixtureFunctionDefinition' or hasattr(value, '_pytestfixturefunction')
    if key.startswith(('test_', 'Test')) or is_fixture:
      out[key] = value
  return out
