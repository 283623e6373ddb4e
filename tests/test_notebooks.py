"""Every notebook runs top to bottom in a real Jupyter kernel (nbclient), shortened through SSLJAX_NOTEBOOK_STEPS.
The notebooks are executed in memory: nothing is written back into the repository's copies."""

import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import REPO

NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))


def test_there_is_a_notebook_per_family():
  names = {os.path.basename(p) for p in NOTEBOOKS}
  assert {
    "fixmatch_digits.ipynb",
    "semi_supervised_comparison.ipynb",
    "self_supervised_representations.ipynb",
    "clustering.ipynb",
    "own_data.ipynb",
  } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_in_a_kernel(path, tmp_path, monkeypatch):
  monkeypatch.setenv("SSLJAX_NOTEBOOK_STEPS", "2")
  monkeypatch.setenv("MPLBACKEND", "Agg")
  with open(path) as f:
    nb = nbformat.read(f, as_version=4)
  assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
  before = os.path.getmtime(path)
  NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
  assert os.path.getmtime(path) == before
