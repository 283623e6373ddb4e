"""The cluster demo job, run directly with small settings."""

import importlib.util
import json
import os

from ssljax.cluster import demo

from helpers import assert_picture

_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'cluster_digits.py')


def _get_config():
  spec = importlib.util.spec_from_file_location('cluster_digits', _CONFIG)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def test_demo_writes_figures_and_scores(tmp_path, capsys):
  config = _get_config()
  config.kmeans_n_init = 1
  config.gmm_n_init = 1
  config.elbow_ks = [5, 10]
  config.quantize_colors = 4
  config.quantize_sample = 500
  results = demo.run(config, str(tmp_path))
  assert results['kmeans_nmi'] > 0.6 and results['gmm_nmi'] > 0.5
  assert results['elbow'][5] > results['elbow'][10]
  for path in results['figures'].values():
    assert path.endswith('.png')
    assert_picture(path, (100, 100))
  json.dumps(results)  # launch.py writes it as results.json
  assert 'NMI' in capsys.readouterr().out
