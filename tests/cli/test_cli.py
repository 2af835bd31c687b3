"""The mer4d command as a user runs it (subprocesses, so start-up and exit codes are real)."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import REPO, TOY_RECIPE


def mer4d(*args, env=None, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "mer4d", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def test_help_lists_commands_and_imports_nothing_heavy():
    out = mer4d("--help")
    assert out.returncode == 0 and all(c in out.stdout for c in ("run", "recipes", "models", "ui"))
    probe = "import sys; from mer4d.cli import cli; cli.main(['--help'], standalone_mode=False); print(sorted(m for m in ('torch', 'mlflow', 'pydantic', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_set_typo_and_type_errors_are_one_clear_line_without_traceback():
    out = mer4d("run", str(TOY_RECIPE), "--set", "trian.epochs=1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "unknown key 'trian'" in out.stderr and "did you mean 'train'" in out.stderr
    out = mer4d("run", str(TOY_RECIPE), "--set", "train.epochs=abc")
    assert out.returncode == 2 and "train.epochs: expected an integer, got 'abc'" in out.stderr


def test_each_stage_has_its_command(tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    out = mer4d("run", str(REPO / "recipes" / "moext_pretrain.yaml"), env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "run it with 'mer4d pretrain'" in out.stderr
    out = mer4d("pretrain", str(TOY_RECIPE), env=env)
    assert out.returncode == 2 and "has stage: train" in out.stderr and "mer4d run" in out.stderr
    out = mer4d("pretrain", str(REPO / "recipes" / "moext_pretrain.yaml"), "--set", "pretrain.epocs=1", env=env)
    assert out.returncode == 2 and "did you mean 'pretrain.epochs'" in out.stderr


def test_recipes_list_and_show_and_models_list():
    out = mer4d("recipes", "list", cwd=REPO)
    assert out.returncode == 0 and "toy_smoke" in out.stdout
    out = mer4d("recipes", "show", "toy_smoke", "--set", "train.epochs=3")
    assert out.returncode == 0 and "epochs: 3" in out.stdout and "name: toy_smoke" in out.stdout
    out = mer4d("models", "list")
    assert out.returncode == 0 and "tiny3d" in out.stdout and "width=" in out.stdout


def test_ui_serves_the_store_on_localhost(tmp_path):
    port = 5000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "mer4d", "ui", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, body = time.time() + 90, ""
        while time.time() < deadline and not body:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"mer4d ui exited early: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(1)
        assert "mlflow" in body.lower()
        assert (tmp_path / "mlruns" / "mlflow.db").exists()
    finally:
        proc.terminate()  # SIGTERM: mer4d ui stops its server's process group (SIGKILL would orphan it)
        proc.wait(timeout=60)
