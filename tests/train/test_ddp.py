"""``torchrun --nproc_per_node 2 -m mer4d run`` (CPU, gloo) against one process on the toy recipe.

Tolerance: the two runs make the same optimiser steps on the same clips with the same dropout
masks and augmentations (mer4d.train.batches); they differ only in the order float32 sums are
taken (each process's share of the batch gradient, then the all-reduce). Over a few epochs of the
tiny model that moves per-clip probabilities by ~1e-7; the test allows 1e-5, and the pooled
metrics (which depend on the argmax of each clip) must be equal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE
from mlflow.tracking import MlflowClient

# uneven shares (batches of 5 over 2 processes, a last batch of 1 leaving one share empty),
# early stopping on an inner validation split, augmentations and the recipe's dropout 0.2
SETTINGS = [*TINY, "train.epochs=3", "train.batch_size=5", "train.val_fraction=0.5", "train.patience=1",
            "train.hflip=true", "train.crop=28", "train.device=cpu"]
PROBABILITY_TOLERANCE = 1e-5


def launcher() -> list[str]:
    """torchrun from this interpreter's environment, else its module form."""
    script = Path(sys.executable).with_name("torchrun")
    if script.exists():
        return [str(script)]
    found = shutil.which("torchrun")
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


def start(store: str, cwd: Path, processes: int, *extra: str) -> tuple[list[str], subprocess.Popen]:
    """``mer4d run`` of the toy recipe into ``store``: one process, or ``processes`` under torchrun."""
    sets = [a for s in SETTINGS for a in ("--set", s)]
    command = ["-m", "mer4d", "run", str(TOY_RECIPE), *sets, "--no-progress", *extra]
    if processes > 1:
        command = [*launcher(), "--standalone", "--nproc_per_node", str(processes), *command]
    else:
        command = [sys.executable, *command]
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "OMP_NUM_THREADS": "1"}
    return command, subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(started: tuple[list[str], subprocess.Popen]) -> tuple[str, str]:
    command, proc = started
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, f"{' '.join(command)} failed:\n{out}\n{err}"
    return out, err


def runs(store: str) -> tuple[list, list, MlflowClient]:
    """(parent runs, fold runs) of the toy experiment."""
    client = MlflowClient(store)
    found = client.search_runs([client.get_experiment_by_name("toy_smoke").experiment_id])
    return [r for r in found if "mlflow.parentRunId" not in r.data.tags], [r for r in found if "mlflow.parentRunId" in r.data.tags], client


def pooled_predictions(client: MlflowClient, folds) -> pd.DataFrame:
    tables = []
    for fold in folds:
        with tempfile.TemporaryDirectory() as tmp:
            tables.append(pd.read_csv(client.download_artifacts(fold.info.run_id, "fold/predictions.csv", tmp), dtype={"clip_id": str, "subject": str}))
    return pd.concat(tables).sort_values("clip_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory) -> tuple[str, str, Path]:
    folder = tmp_path_factory.mktemp("ddp")
    one, two = f"sqlite:///{folder / 'one.db'}", f"sqlite:///{folder / 'two.db'}"
    single, parallel = start(one, folder, 1), start(two, folder, 2)  # side by side: most of each is starting Python
    finish(single)
    out, err = finish(parallel)
    assert "data-parallel: 2 processes (gloo)" in err
    assert out.count("pooled") == 1  # rank 0 alone prints the summary
    return one, two, folder


def test_two_processes_give_one_process_results_in_one_parent_run(two_stores):
    one, two, _ = two_stores
    (ref,), ref_folds, ref_client = runs(one)
    parents, folds, client = runs(two)
    assert len(parents) == 1, f"{len(parents)} parent runs: only rank 0 may talk to MLflow"
    (run,) = parents
    assert run.info.status == "FINISHED" and len(folds) == len(ref_folds) == 3
    with tempfile.TemporaryDirectory() as tmp:
        assert json.loads(Path(client.download_artifacts(run.info.run_id, "provenance.json", tmp)).read_text())["processes"] == 2
    a, b = pooled_predictions(ref_client, ref_folds), pooled_predictions(client, folds)
    scores = [c for c in a.columns if c.startswith("score_")]
    assert list(a["clip_id"]) == list(b["clip_id"]) and list(a["prediction"]) == list(b["prediction"])
    assert np.abs(a[scores].to_numpy() - b[scores].to_numpy()).max() <= PROBABILITY_TOLERANCE
    for key in ("acc", "uf1", "uar", "fold_mean_uf1"):
        assert run.data.metrics[key] == pytest.approx(ref.data.metrics[key], abs=1e-12), key
    by_number = {f.data.tags["mer4d.fold_number"]: f for f in ref_folds}
    for fold in folds:  # the same early-stopping decisions, the same losses up to float noise
        other = by_number[fold.data.tags["mer4d.fold_number"]]
        assert fold.data.metrics["epochs_run"] == other.data.metrics["epochs_run"]
        for name in ("train_loss", "val_loss"):
            mine = [m.value for m in client.get_metric_history(fold.info.run_id, name)]
            theirs = [m.value for m in ref_client.get_metric_history(other.info.run_id, name)]
            assert mine == pytest.approx(theirs, rel=1e-5), name


@pytest.mark.slow
def test_a_data_parallel_resume_skips_the_folds_rank_0_found_finished(two_stores):
    _, two, folder = two_stores
    resumed_store = f"sqlite:///{folder / 'resumed.db'}"
    shutil.copy(folder / "two.db", folder / "resumed.db")
    (run,), folds, client = runs(resumed_store)
    for fold in folds:  # as if the run had been killed after its first fold
        if fold.data.tags["mer4d.fold_number"] != "0":
            client.delete_run(fold.info.run_id)
    client.set_terminated(run.info.run_id, "FAILED")
    _, err = finish(start(resumed_store, folder, 2, "--resume", run.info.run_id))
    assert err.count("finished in an earlier attempt, reused") == 1  # fold 0, said once (rank 0)
    parents, folds, client = runs(resumed_store)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED" and len(folds) == 3
    for key in ("acc", "uf1", "uar"):
        assert parents[0].data.metrics[key] == pytest.approx(run.data.metrics[key], abs=1e-12), key


def test_torchrun_variables_are_read_and_half_set_ones_refused():
    from mer4d.core.errors import RecipeError
    from mer4d.train.distributed import World, env_world

    assert env_world({}) is None
    assert env_world({"RANK": "1", "WORLD_SIZE": "3", "LOCAL_RANK": "1"}) == World(1, 3, 1)
    with pytest.raises(RecipeError, match="but not WORLD_SIZE, LOCAL_RANK"):
        env_world({"RANK": "0"})
    with pytest.raises(RecipeError, match="need 0 <= RANK < WORLD_SIZE"):
        env_world({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_classic_models_and_pretraining_refuse_torchrun(monkeypatch):
    from click.testing import CliRunner

    from mer4d.cli.pretrain import pretrain
    from mer4d.core.errors import RecipeError
    from mer4d.recipes import load_recipe
    from mer4d.train import distributed
    from mer4d.train.runner import check_recipe_fits

    recipe = load_recipe(TOY_RECIPE, ["model.name=lbptop_svm", "model.params={}"]).recipe
    check_recipe_fits(recipe)  # one process: fine
    monkeypatch.setattr(distributed, "_WORLD", distributed.World(0, 2, 0, "gloo"))
    with pytest.raises(RecipeError, match="classic model .* nothing to train data-parallel"):
        check_recipe_fits(recipe)
    out = CliRunner().invoke(pretrain, [str(TOY_RECIPE)], env={"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    assert out.exit_code != 0 and "runs in one process" in out.output
