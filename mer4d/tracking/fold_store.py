"""Read a finished run's folds back for analyses, and store what the analyses make in the run.

An analysis (``mer4d analyze cam``) needs the run's resolved recipe (to rebuild its data exactly)
and each fold's kept checkpoint (``train.keep_checkpoints``); its tables and images go back into
the same run, under one artifact folder.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mer4d.core.errors import TrackingError
from mer4d.tracking.mlflow_tracker import FOLD_TAG, PARENT_TAG, RECIPE_ARTIFACT
from mer4d.tracking.store import open_client, tracking_uri
from mer4d.train.checkpoints import FOLD_CHECKPOINT


@dataclass(frozen=True)
class StoredFold:
    number: int
    name: str
    run_id: str
    checkpoint: Path | None  # local copy; None when the fold run holds none


class RunFolds:
    """One run of the store at ``uri`` (``MLFLOW_TRACKING_URI`` / the default when None)."""

    def __init__(self, run_id: str, uri: str | None = None):
        from mlflow.exceptions import MlflowException

        self.uri = tracking_uri(uri)
        self.client = open_client(self.uri)
        self.run_id = run_id
        try:
            self.run = self.client.get_run(run_id)
        except MlflowException as exc:
            raise TrackingError(f"--run {run_id}: no such run in the store {self.uri} ({exc.message.splitlines()[0]}); "
                                "copy the id from 'mer4d run' output or the MLflow UI, and point MLFLOW_TRACKING_URI at the store") from None
        if PARENT_TAG in self.run.data.tags and FOLD_TAG in self.run.data.tags:
            raise TrackingError(f"--run {run_id}: that is fold run '{self.run.data.tags.get('mer4d.fold_name')}'; give its parent run "
                                f"{self.run.data.tags[PARENT_TAG]}")

    def recipe_yaml(self) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                return Path(self.client.download_artifacts(self.run_id, RECIPE_ARTIFACT, tmp)).read_text()
            except Exception as exc:  # noqa: BLE001 - MLflow raises several types for a missing artifact
                raise TrackingError(f"--run {self.run_id}: it has no {RECIPE_ARTIFACT} artifact, so it was not made by 'mer4d run' ({exc})") from None

    def folds(self, dst: Path) -> list[StoredFold]:
        """The run's FINISHED folds in fold order, each checkpoint downloaded under ``dst``."""
        runs = self.client.search_runs([self.run.info.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{self.run_id}'", max_results=10_000)
        out = []
        for run in runs:
            if run.info.status != "FINISHED" or FOLD_TAG not in run.data.tags:
                continue
            number = int(run.data.tags[FOLD_TAG])
            names = {a.path for a in self.client.list_artifacts(run.info.run_id, "fold")}
            path = None
            if FOLD_CHECKPOINT in names:
                folder = dst / f"fold{number:02d}"
                folder.mkdir(parents=True, exist_ok=True)
                path = Path(self.client.download_artifacts(run.info.run_id, FOLD_CHECKPOINT, str(folder)))
            out.append(StoredFold(number, run.data.tags.get("mer4d.fold_name", str(number)), run.info.run_id, path))
        return sorted(out, key=lambda f: f.number)

    def log_folder(self, folder: Path, artifact_path: str) -> None:
        """Every file of ``folder`` into the run under ``artifact_path``."""
        self.client.log_artifacts(self.run_id, str(folder), artifact_path)
