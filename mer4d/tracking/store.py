"""Where runs go: the tracking URI, the artifact folder and the experiment (DESIGN §5)."""

from __future__ import annotations

import os
from pathlib import Path

from mer4d.core.errors import TrackingError

DEFAULT_URI = "sqlite:///mlruns/mlflow.db"
# MLflow 3's UI shows its GenAI pages (traces, evaluation) for an experiment unless this tag says
# it holds model-training runs; "custom_model_development" is the value its own "machine learning"
# experiment-type selector writes (mlflow/server/js: ExperimentKind.CUSTOM_MODEL_DEVELOPMENT).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# MLflow >= 3.5 also keeps a UI-wide GenAI / machine-learning switch, read first from this query
# parameter of the page URL (then the browser's local storage, default GenAI).
WORKFLOW_QUERY = "workflowType=machine_learning"
# The runs table hides metric columns until picked; a "shared view" (an experiment tag the UI's
# Share button writes, named by ?viewStateShareKey=) opens it with the pooled scores as columns.
VIEW_KEY = "mer4d"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
VIEW_METRICS = ("acc", "uf1", "uf1_sd", "uf1_ci_low", "uf1_ci_high", "uar", "fold_mean_uf1",
                "macro_f1", "macro_f1_sd", "macro_f1_ci_low", "macro_f1_ci_high", "macro_acc", "n_seeds")  # scores with their spread


def view_state() -> str:
    """The shared view: newest run first, the pooled metrics as columns."""
    import json

    return json.dumps({"selectedColumns": [f"metrics.`{m}`" for m in VIEW_METRICS], "orderByKey": "attributes.start_time", "orderByAsc": False})


def experiment_tags(present: dict[str, str]) -> dict[str, str]:
    """The tags every mer4d experiment carries that ``present`` (its current tags) lacks; mer4d's own
    shared view is brought up to date too (a user's choice of experiment kind is left alone)."""
    wanted = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, VIEW_TAG: view_state()}
    return {k: v for k, v in wanted.items() if k not in present or (k == VIEW_TAG and present[k] != v)}


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
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # a server store prints two links per run ended; mer4d run prints one at the end
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
        for key, value in experiment_tags(found.tags).items():  # made by an older mer4d, or by hand: mark it once
            client.set_experiment_tag(found.experiment_id, key, value)
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root(uri), tags=experiment_tags({}))


def runs_page(base: str, experiment_id: str, view: bool = True) -> str:
    """The URL of an experiment's runs table in the MLflow UI served at ``base`` (with mer4d's
    shared view of the pooled metrics when ``view``)."""
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs?{WORKFLOW_QUERY}" + (f"&viewStateShareKey={VIEW_KEY}" if view else "")
