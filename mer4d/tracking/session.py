"""One ``mer4d run``: a parent MLflow run around the protocol runner, new or resumed.

Failure handling: any exception marks the parent (and the fold in progress) FAILED with the
traceback attached; Ctrl-C marks them KILLED. A SIGKILL cannot be caught, so the parent stays
RUNNING (never FINISHED) and ``--resume RUN_ID`` picks it up from the last finished fold.
"""

from __future__ import annotations

import json
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from mer4d.core.errors import TrackingError
from mer4d.pipeline import load_corpus
from mer4d.recipes.load import LoadedRecipe, flatten, recipe_to_yaml
from mer4d.tracking.artifacts import log_results
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.tracking.provenance import provenance
from mer4d.tracking.store import experiment_id, open_client, tracking_uri
from mer4d.train.runner import ProtocolResult, run_protocol

RECIPE_ARTIFACT = "recipe.resolved.yaml"


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    tracking_uri: str
    result: ProtocolResult


def variant(overrides: tuple[str, ...]) -> str:
    """The ``--set`` overrides that change the method (not where data or runs live), for grouping runs."""
    placement = ("dataset.root=", "tracking.")
    return " ".join(sorted(o for o in overrides if not o.startswith(placement)))


def _new_parent(client, exp_id: str, loaded: LoadedRecipe) -> str:
    from mlflow.entities import Param

    info = provenance()
    tags = {
        "mer4d.recipe": loaded.recipe.name,
        "mer4d.recipe_file": str(loaded.source),
        "mer4d.profile": loaded.profile,
        "mer4d.variant": variant(loaded.overrides),
        "mlflow.source.name": "mer4d run",
    }
    if "git_commit" in info:
        tags["mlflow.source.git.commit"] = str(info["git_commit"])
    run = client.create_run(exp_id, tags=tags, run_name=loaded.recipe.name)
    run_id = run.info.run_id
    params = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in flatten(loaded.recipe.model_dump(mode="json")).items() if not k.startswith("profiles.")}
    params["profile"] = loaded.profile
    items = [Param(k, v[:6000]) for k, v in params.items()]
    for start in range(0, len(items), 100):  # MLflow accepts at most 100 params per batch
        client.log_batch(run_id, params=items[start : start + 100])
    client.log_text(run_id, recipe_to_yaml(loaded.recipe), RECIPE_ARTIFACT)
    client.log_dict(run_id, info, "provenance.json")
    return run_id


def _reopen_parent(client, run_id: str, loaded: LoadedRecipe) -> str:
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise TrackingError(f"--resume {run_id}: no such run in the store {client.tracking_uri} ({exc.message.splitlines()[0]})") from None
    if run.info.status == "FINISHED":
        raise TrackingError(f"--resume {run_id}: that run already FINISHED; there is nothing to resume (start a new run without --resume)")
    with tempfile.TemporaryDirectory() as tmp:
        stored = Path(client.download_artifacts(run_id, RECIPE_ARTIFACT, tmp)).read_text()
    current = recipe_to_yaml(loaded.recipe)
    if stored != current:
        import difflib

        diff = "\n".join(difflib.unified_diff(stored.splitlines(), current.splitlines(), "stored", "now", lineterm="", n=0))
        raise TrackingError(f"--resume {run_id}: the recipe differs from the one the run started with; resume with the same recipe, profile and --set values:\n{diff}")
    client.update_run(run_id, status="RUNNING")
    return run_id


def run_tracked(loaded: LoadedRecipe, resume: str | None = None, progress: bool = True) -> TrackedRun:
    """Run the recipe's protocol inside a parent MLflow run (a new one, or ``resume``)."""
    recipe = loaded.recipe
    uri = tracking_uri(recipe.tracking.uri)
    client = open_client(uri)
    if resume:
        run_id = _reopen_parent(client, resume, loaded)
        exp_id = client.get_run(run_id).info.experiment_id
    else:
        exp_id = experiment_id(client, recipe.tracking.experiment or recipe.name, uri)
        run_id = _new_parent(client, exp_id, loaded)
    tracker = MlflowTracker(client, exp_id, run_id)
    try:
        corpus = load_corpus(recipe)
        stored_fp = client.get_run(run_id).data.tags.get("mer4d.dataset_fingerprint")
        if stored_fp is not None and stored_fp != corpus.fingerprint:
            raise TrackingError(f"--resume {run_id}: the dataset changed since the run started (fingerprint {stored_fp} -> {corpus.fingerprint})")
        client.set_tag(run_id, "mer4d.dataset_fingerprint", corpus.fingerprint)
        client.set_tag(run_id, "mer4d.dataset", corpus.description)
        result = run_protocol(recipe, corpus, tracker, progress=progress)
        log_results(client, run_id, result)
    except KeyboardInterrupt:
        tracker.fail_current_fold("KILLED")
        client.set_terminated(run_id, "KILLED")
        raise
    except BaseException as exc:
        tracker.fail_current_fold("FAILED")
        client.set_tag(run_id, "mer4d.error", f"{type(exc).__name__}: {exc}"[:5000])
        client.log_text(run_id, "".join(traceback.format_exception(exc)), "traceback.txt")
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return TrackedRun(run_id, exp_id, uri, result)
