"""A run killed with SIGKILL mid-way and resumed ends with the same per-fold results."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
from conftest import TOY_RECIPE
from mlflow.tracking import MlflowClient

SETTINGS = ["--set", "dataset.params.subjects=5", "--set", "dataset.params.clips_per_class=2", "--set", "train.epochs=3", "--set", "model.params.width=4"]


def start(store, *extra):
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    return subprocess.Popen([sys.executable, "-m", "mer4d", "run", str(TOY_RECIPE), *SETTINGS, "--no-progress", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fold_tables(client, run_id):
    exp = client.get_run(run_id).info.experiment_id
    children = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{run_id}' and attributes.status = 'FINISHED'")
    return {c.data.tags["mer4d.fold_number"]: c for c in children}


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    killed = f"sqlite:///{tmp_path / 'killed.db'}"
    proc = start(reference)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()

    victim = start(killed)
    client = MlflowClient(killed)
    run_id, deadline = None, time.time() + 240
    while time.time() < deadline:
        time.sleep(0.3)
        assert victim.poll() is None, "the run finished before it could be killed; make SETTINGS slower"
        try:
            exp = client.get_experiment_by_name("toy_smoke")
            runs = client.search_runs([exp.experiment_id], "tags.`mer4d.recipe` = 'toy_smoke'") if exp else []
        except Exception:  # the store is still being created by the victim
            continue
        if runs and len(fold_tables(client, runs[0].info.run_id)) >= 2:
            run_id = runs[0].info.run_id
            break
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert run_id is not None
    assert client.get_run(run_id).info.status == "RUNNING"  # never left looking finished
    done_before = set(fold_tables(client, run_id))

    resumed = start(killed, "--resume", run_id)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert err.count("finished in an earlier attempt, reused") == len(done_before)
    assert client.get_run(run_id).info.status == "FINISHED"

    ref_client = MlflowClient(reference)
    (ref_run,) = ref_client.search_runs([ref_client.get_experiment_by_name("toy_smoke").experiment_id], "tags.`mer4d.recipe` = 'toy_smoke'")
    ref_folds, res_folds = fold_tables(ref_client, ref_run.info.run_id), fold_tables(client, run_id)
    assert sorted(res_folds) == sorted(ref_folds) == [str(i) for i in range(5)]
    for number, ref in ref_folds.items():
        a = pd.read_csv(ref_client.download_artifacts(ref.info.run_id, "fold/predictions.csv", str(tmp_path / f"a{number}")))
        b = pd.read_csv(client.download_artifacts(res_folds[number].info.run_id, "fold/predictions.csv", str(tmp_path / f"b{number}")))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)
    for key in ("acc", "uf1", "uar"):
        assert abs(client.get_run(run_id).data.metrics[key] - ref_run.data.metrics[key]) < 1e-12
