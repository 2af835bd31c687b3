"""``mer4d analyze cam`` as a user runs it: a run without kept models is refused with the fix; one with them gets its maps stored."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE
from mlflow.tracking import MlflowClient


def mer4d(*args, env):
    return subprocess.run([sys.executable, "-m", "mer4d", *args], capture_output=True, text=True, env=env, timeout=300)


def parent_run(uri: str) -> str:
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("toy_smoke").experiment_id], order_by=["attributes.start_time DESC"])
    return next(r.info.run_id for r in runs if "mlflow.parentRunId" not in r.data.tags)


@pytest.mark.slow
def test_analyze_cam_refuses_a_run_without_checkpoints_and_stores_maps_of_one_with_them(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    sets = [a for s in TINY for a in ("--set", s)]
    assert mer4d("run", str(TOY_RECIPE), *sets, "--no-progress", env=env).returncode == 0
    plain = parent_run(uri)
    out = mer4d("analyze", "cam", "--run", plain, "--no-progress", env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "did not keep its fold models" in out.stderr and "--set train.keep_checkpoints=true" in out.stderr
    out = mer4d("analyze", "cam", "--run", "0" * 32, env=env)
    assert out.returncode == 2 and "no such run" in out.stderr

    assert mer4d("run", str(TOY_RECIPE), *sets, "--set", "train.keep_checkpoints=true", "--no-progress", env=env).returncode == 0
    kept = parent_run(uri)
    out = mer4d("analyze", "cam", "--run", kept, "--no-progress", env=env)
    assert out.returncode == 0, out.stderr
    assert f"## Grad-CAM of run {kept}: tiny3d" in out.stdout and "| happiness | emotion | logit | 6 |" in out.stdout
    client = MlflowClient(uri)
    stored = {a.path for a in client.list_artifacts(kept, "analysis/cam")}
    assert {f"analysis/cam/{n}" for n in ("cam_grid.png", "cam_groups.csv", "cam_correlation.csv", "cam_maps.npz", "summary.md")} <= stored
    groups = pd.read_csv(client.download_artifacts(kept, "analysis/cam/cam_groups.csv", str(tmp_path)))
    assert groups["clips"].sum() == 18 and set(groups["source"]) == {"logit"}  # every toy clip tested once; toy clips carry no AUs
    maps = np.load(client.download_artifacts(kept, "analysis/cam/cam_maps.npz", str(tmp_path)))["maps"]
    assert maps.shape == (3, 1, 32, 32) and np.nanmin(maps) >= 0 and np.nanmax(maps) <= 1

    out = mer4d("analyze", "cam", "--run", kept, "--method", "layercam", "--no-progress", env=env)
    assert out.returncode == 0, out.stderr
    assert f"## Layer-CAM of run {kept}: tiny3d" in out.stdout
    assert "analysis/cam_layercam/cam_grid.png" in {a.path for a in client.list_artifacts(kept, "analysis/cam_layercam")}
    assert stored == {a.path for a in client.list_artifacts(kept, "analysis/cam")}  # the Grad-CAM folder is left as it was


def test_the_method_choices_are_the_methods_grad_cam_knows():
    """The CLI lists the methods literally (importing gradcam would load torch for --help); they must not drift apart."""
    from mer4d.analysis.gradcam import METHODS
    from mer4d.cli.analyze_cam import cam

    (option,) = [p for p in cam.params if p.name == "method"]
    assert list(option.type.choices) == list(METHODS)
