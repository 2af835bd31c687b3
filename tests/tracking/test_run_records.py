"""What every run records besides scores: its dataset as an MLflow input (digest = fingerprint, fold subjects as
context) and system metrics, and what happens without psutil."""

import logging
import sys

import pandas as pd
from conftest import TINY, TOY_RECIPE
from mlflow.tracking import MlflowClient

from mer4d.recipes import load_recipe
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.tracking.run_records import CONTEXT_LIMIT, fold_context, start_system_metrics
from mer4d.train.experiment import run_experiment


def test_a_run_records_its_dataset_and_fold_subjects_and_system_metrics(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")  # a tiny run lasts a few seconds
    loaded = load_recipe(TOY_RECIPE, TINY)
    tracked = run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe))
    client = MlflowClient(store)
    parent = client.get_run(tracked.run_id)
    (given,) = parent.inputs.dataset_inputs
    assert given.dataset.name == "toy" and given.dataset.digest == parent.data.tags["mer4d.dataset_fingerprint"]
    assert {t.key: t.value for t in given.tags}["mlflow.data.context"] == "every fold of the loso protocol"

    table = pd.read_csv(client.download_artifacts(tracked.run_id, "predictions.csv", str(tmp_path)), dtype={"subject": str})
    folds = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{tracked.run_id}'")
    assert len(folds) == 3
    for fold in folds:
        (split,) = fold.inputs.dataset_inputs
        test = sorted(table[table.fold == fold.data.tags["mer4d.fold_name"]].subject.unique())
        train = sorted(set(table.subject) - set(test))  # LOSO: every other subject trains
        assert split.dataset.digest == given.dataset.digest
        assert {t.key: t.value for t in split.tags}["mlflow.data.context"] == f"train: {','.join(train)} | test: {','.join(test)}"
        assert fold.data.params["train_subjects"] == ",".join(train) and fold.data.params["test_subjects"] == ",".join(test)

    history = client.get_metric_history(tracked.run_id, "system/cpu_utilization_percentage")
    assert history and all(0 <= m.value <= 100 * 1024 for m in history)  # psutil's percent sums over cores
    assert [m.step for m in history] == list(range(len(history)))  # one step per sample, in order


def test_a_fold_context_fits_mlflows_limit_however_many_subjects():
    train = ",".join(f"sub{i:04d}" for i in range(600))
    context = fold_context(train, "sub9999")
    assert len(context) <= CONTEXT_LIMIT
    assert context == "train: 600 subjects: sub0000..sub0599 | test: sub9999"
    assert fold_context("s01,s02", "s03") == "train: s01,s02 | test: s03"


def test_without_psutil_a_run_warns_and_records_no_system_metrics(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now raises ImportError
    for name in [m for m in sys.modules if m.startswith("mlflow.system_metrics")]:
        monkeypatch.delitem(sys.modules, name)
    with caplog.at_level(logging.WARNING, logger="mer4d"):
        assert start_system_metrics("some-run", "sqlite:///unused.db") is None
    assert "no system metrics for run some-run" in caplog.text and "pip install psutil" in caplog.text


def test_mlflows_switch_turns_system_metrics_off(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    assert start_system_metrics("some-run", "sqlite:///unused.db") is None
