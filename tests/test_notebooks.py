"""Every notebook runs top to bottom (code cells exec'd in order, shortened through SSLJAX_NOTEBOOK_STEPS)."""

import glob
import json
import os

import matplotlib
import pytest

from helpers import REPO

matplotlib.use("Agg")
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, monkeypatch):
  monkeypatch.setenv("SSLJAX_NOTEBOOK_STEPS", "2")
  with open(path) as f:
    cells = json.load(f)["cells"]
  namespace = {"__name__": "__main__"}
  for cell in cells:
    if cell["cell_type"] == "code":
      exec(compile("".join(cell["source"]), path, "exec"), namespace)
