"""``mer4d analyze`` as a user runs it: a light --help, one-line errors (exit 2, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def mer4d(*args, cwd=None):
    # this checkout's package, also from another working directory
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "mer4d", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_help_lists_the_subcommands_and_imports_nothing_heavy():
    out = mer4d("--help")
    assert out.returncode == 0 and "analyze" in out.stdout
    out = mer4d("analyze", "--help")
    assert out.returncode == 0 and "labels" in out.stdout and "agreement" in out.stdout
    probe = ("import sys; from mer4d.cli import cli; cli.main(['analyze', '--help'], standalone_mode=False); "
             "print(sorted(m for m in ('torch', 'mlflow', 'pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_bad_raters_file_is_one_clear_line(tmp_path):
    path = tmp_path / "raters.csv"
    path.write_text("clip_id,a,b\nc1,x,\n")
    out = mer4d("analyze", "agreement", str(path), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "row 2 (item 'c1'), column 'b': empty rating" in out.stderr
    assert not (tmp_path / "mlruns").exists()  # nothing logged for a file that cannot be read


def test_an_unknown_dataset_suggests_the_close_name(tmp_path):
    out = mer4d("analyze", "labels", "--dataset", "casme", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "casme2" in out.stderr
