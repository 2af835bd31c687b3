"""Architecture rules: small modules, imports follow the data flow, cheap top-level imports."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mer4d"


def test_no_module_over_500_lines():
    big = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not big, f"split these modules by concept: {big}"


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed (dev extra)")
def test_import_direction_follows_the_data_flow():
    out = subprocess.run(["lint-imports"], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_importing_the_package_and_recipes_stays_light():
    probe = "import sys, mer4d, mer4d.core, mer4d.recipes; print(sorted(m for m in ('torch', 'mlflow', 'open3d', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_test_file_names_are_unique():
    # pytest's default import mode refuses two test modules with the same basename.
    names = [p.name for p in (PACKAGE.parent / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed (dev extra)")
def test_the_contracts_catch_a_cycle_and_a_dataset_importing_preprocessing(tmp_path):
    import os

    shutil.copytree(PACKAGE, tmp_path / "mer4d", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    frames = tmp_path / "mer4d" / "pipeline" / "frames.py"
    frames.write_text(frames.read_text() + "\nimport mer4d.pipeline.build  # noqa\n")  # build -> frames -> build
    spec = tmp_path / "mer4d" / "data" / "datasets" / "toy.py"
    spec.write_text(spec.read_text() + "\nimport mer4d.preprocess.tim  # noqa\n")
    out = subprocess.run(["lint-imports"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 1
    assert "no import cycle between sibling modules of any package BROKEN" in out.stdout
    assert "dataset specs read label files and folders only BROKEN" in out.stdout
