"""scikit-learn's sklearn/semi_supervised/tests/test_label_propagation.py, run against ssljax's LabelPropagation
and LabelSpreading."""

from _sklearn_tests import exported, load
from sklearn.semi_supervised import _label_propagation

from ssljax import cluster

_OURS = {'LabelPropagation': cluster.LabelPropagation, 'LabelSpreading': cluster.LabelSpreading}
_module = load(
  'semi_supervised/tests/test_label_propagation.py',
  'sklearn_suite_test_label_propagation',
  [(_label_propagation, name, cls) for name, cls in _OURS.items()],
  aliases=[('label_propagation', _label_propagation, _OURS)],
)
globals().update(exported(_module))
