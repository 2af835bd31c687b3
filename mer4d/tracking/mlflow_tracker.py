"""The MLflow implementation of the runner's Tracker: one nested run per fold.

A fold's nested run is marked FINISHED only after its predictions and metrics are stored as
artifacts, so a run killed at any moment never leaves a fold looking finished without its data;
``completed_folds`` reads those artifacts back when a run is resumed.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from mer4d.train.tracker import FoldOutcome

PARENT_TAG = "mlflow.parentRunId"
FOLD_TAG = "mer4d.fold_number"
TEXT_COLUMNS = ("clip_id", "subject", "fold", "truth", "prediction")  # ids like "01" must stay strings


def metric_batch(metrics: dict[str, float], step: int = 0):
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(key, float(value), now, step) for key, value in metrics.items()]


class MlflowTracker:
    """Logs folds of one parent run. ``client`` is an ``MlflowClient``."""

    def __init__(self, client, experiment_id: str, parent_run_id: str):
        self.client = client
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.fold_run_id: str | None = None

    def fold_runs(self):
        return self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{self.parent_run_id}'", max_results=10_000
        )

    def completed_folds(self) -> dict[int, FoldOutcome]:
        done: dict[int, FoldOutcome] = {}
        for run in self.fold_runs():
            if run.info.status == "RUNNING":  # left behind by a killed process: that fold is redone
                self.client.set_terminated(run.info.run_id, "KILLED")
                continue
            if run.info.status != "FINISHED" or FOLD_TAG not in run.data.tags:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(self.client.download_artifacts(run.info.run_id, "fold", tmp))
                table = pd.read_csv(folder / "predictions.csv", keep_default_na=False, dtype={c: str for c in TEXT_COLUMNS})
                record = json.loads((folder / "metrics.json").read_text())
            number = int(run.data.tags[FOLD_TAG])
            done[number] = FoldOutcome(number, record["name"], table, record["metrics"], int(record["epochs_run"]))
        return done

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        from mlflow.entities import Param

        run = self.client.create_run(
            self.experiment_id,
            tags={PARENT_TAG: self.parent_run_id, FOLD_TAG: str(number), "mer4d.fold_name": name},
            run_name=f"fold-{number:02d} {name}",
        )
        self.fold_run_id = run.info.run_id
        self.client.log_batch(self.fold_run_id, params=[Param(k, str(v)) for k, v in info.items()])

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.client.log_batch(self.fold_run_id, metrics=metric_batch(metrics, step=epoch))

    def finish_fold(self, outcome: FoldOutcome) -> None:
        run_id = self.fold_run_id
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "fold"
            folder.mkdir()
            outcome.table.to_csv(folder / "predictions.csv", index=False)
            record = {"name": outcome.name, "metrics": outcome.metrics, "epochs_run": outcome.epochs_run}
            (folder / "metrics.json").write_text(json.dumps(record, indent=1))
            self.client.log_artifacts(run_id, str(folder), "fold")
        self.client.log_batch(run_id, metrics=metric_batch(outcome.metrics))
        self.client.set_terminated(run_id, "FINISHED")
        self.fold_run_id = None

    def fail_current_fold(self, status: str) -> None:
        if self.fold_run_id is not None:
            self.client.set_terminated(self.fold_run_id, status)
            self.fold_run_id = None
