"""Where runs go: the tracking URI, the artifact folder and the experiment (DESIGN §5)."""

from __future__ import annotations

import os
from pathlib import Path

from mer4d.core.errors import TrackingError

DEFAULT_URI = "sqlite:///mlruns/mlflow.db"


def tracking_uri(recipe_uri: str | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` wins, then the recipe's ``tracking.uri``, then the local default.

    The default is a SQLite store in ``./mlruns`` because MLflow 3 refuses a plain file store.
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or recipe_uri or DEFAULT_URI


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative paths are relative to the cwd)."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None


def artifact_root(uri: str) -> str | None:
    """For a SQLite store, ``artifacts/`` beside the database; otherwise the server decides."""
    db = sqlite_path(uri)
    return (db.parent.resolve() / "artifacts").as_uri() if db is not None else None


def open_client(uri: str):
    """An ``MlflowClient`` for ``uri``, creating the folder of a SQLite store first."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # our own bars are enough
    from mlflow.tracking import MlflowClient

    db = sqlite_path(uri)
    if db is not None:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackingError(f"cannot create the MLflow store folder {db.parent}: {exc}; set tracking.uri or MLFLOW_TRACKING_URI") from exc
    return MlflowClient(tracking_uri=uri)


def experiment_id(client, name: str, uri: str) -> str:
    """The id of experiment ``name``, created (with our artifact folder) when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage == "deleted":
        raise TrackingError(
            f"MLflow experiment '{name}' was deleted in {uri}; restore it (mlflow experiments restore --experiment-id {found.experiment_id}) "
            "or set tracking.experiment to another name"
        )
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root(uri))
