"""The installed package is complete: a wheel, installed non-editable into a fresh venv, runs a config by name from
outside the source tree (its configs ship as ssljax.configs, its launcher is a console script)."""

import os
import subprocess
import sys
import sysconfig

from helpers import REPO, TINY_ARGS, read_json


def test_wheel_installs_and_runs_a_config_by_name(tmp_path):
  wheels = tmp_path / "wheels"
  build = subprocess.run(
    [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), REPO],
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert build.returncode == 0, build.stderr[-3000:]
  (wheel,) = wheels.glob("ssljax-*.whl")
  venv = tmp_path / "venv"
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
  python = venv / "bin" / "python"
  site = subprocess.run(
    [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
    capture_output=True,
    text=True,
    check=True,
  ).stdout.strip()
  # The dependencies come from this environment, appended after the venv's own site-packages (a plain path: this
  # environment's .pth files, such as an editable ssljax, are not processed there).
  with open(os.path.join(site, "deps.pth"), "w") as f:
    f.write(sysconfig.get_paths()["purelib"] + "\n")
  install = subprocess.run(
    [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert install.returncode == 0, install.stderr[-3000:]
  outside = tmp_path / "elsewhere"
  outside.mkdir()
  where = subprocess.run(
    [python, "-c", "import ssljax, ssljax.configs; print(ssljax.__file__)"],
    cwd=outside,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert where.returncode == 0 and where.stdout.startswith(site), (where.stdout, where.stderr[-2000:])
  env = dict(os.environ, PYTHONPATH="")
  run = subprocess.run(
    [python, "-m", "ssljax.launch", "--config", "fixmatch_digits", "--workdir", str(outside / "w"), *TINY_ARGS],
    cwd=outside,
    capture_output=True,
    text=True,
    timeout=900,
    env=env,
  )
  assert run.returncode == 0, run.stderr[-3000:]
  assert read_json(outside / "w" / "results.json")["steps"] == 4
  bad = subprocess.run(
    [python, "-m", "ssljax.launch", "--config", "fixmatch_digit", "--workdir", str(outside / "x")],
    cwd=outside,
    capture_output=True,
    text=True,
    timeout=300,
    env=env,
  )
  assert bad.returncode != 0 and "no config 'fixmatch_digit'" in bad.stderr and "fixmatch_digits" in bad.stderr
