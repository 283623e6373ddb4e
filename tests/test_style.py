"""The lint and format checks configured in pyproject.toml hold on the whole repository."""

import os
import shutil
import subprocess
import sys

import pytest

from helpers import REPO


def _ruff():
  found = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
  if found is None:
    pytest.fail("ruff is not installed: pip install -e '.[test]'")
  return found


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(args):
  proc = subprocess.run([_ruff(), *args], cwd=REPO, capture_output=True, text=True)
  assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"
