"""One experiment: a recipe's protocol inside a tracked run, new or resumed (what ``mer4d run`` does).

The tracker is passed in (:class:`~mer4d.train.tracker.Tracker`; ``mer4d run`` passes
``mer4d.tracking.mlflow_tracker.MlflowTracker``), so this module knows what to record and when, not where.

Failure handling: any exception marks the run (and the fold in progress) FAILED with the error
and its traceback; Ctrl-C marks them KILLED. A SIGKILL cannot be caught, so the run stays
RUNNING (never FINISHED) and ``resume=RUN_ID`` picks it up from the last finished fold, provided
the recipe and the dataset are unchanged.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from mer4d.core.errors import RecipeError, TrackingError

# The one place where a recipe's data is built (swap here for another clip pipeline).
from mer4d.pipeline import load_corpus as build_corpus
from mer4d.recipes.load import LoadedRecipe, recipe_to_yaml
from mer4d.recipes.schema import Recipe
from mer4d.train.distributed import main_first
from mer4d.train.pretrained import Pretrained
from mer4d.train.runner import ProtocolResult, check_recipe_fits, run_protocol
from mer4d.train.tracker import StoredRun, Tracker, ends_on_failure


@dataclass(frozen=True)
class ExperimentRun:
    run_id: str
    result: ProtocolResult


def check_resumable(run_id: str, stored: StoredRun, loaded: LoadedRecipe) -> None:
    """Refuse to resume a finished run, or one that started with another recipe (the diff says how)."""
    if stored.repeats is not None:
        raise TrackingError(f"--resume {run_id}: that is a repeats run (several seeds); resuming one is not supported, start it again")
    if stored.status == "FINISHED":
        raise TrackingError(f"--resume {run_id}: that run already FINISHED; there is nothing to resume (start a new run without --resume)")
    current = recipe_to_yaml(loaded.recipe)
    if stored.recipe_yaml != current:
        diff = "\n".join(difflib.unified_diff(stored.recipe_yaml.splitlines(), current.splitlines(), "stored", "now", lineterm="", n=0))
        raise TrackingError(f"--resume {run_id}: the recipe differs from the one the run started with; resume with the same recipe, profile and --set values:\n{diff}")


def init_reference(recipe: Recipe) -> str | None:
    """The recipe's ``model.params.init`` when it names a checkpoint (a model option of two-stage methods)."""
    init = recipe.model.params.get("init")
    return init if isinstance(init, str) and init.strip().lower() not in ("", "none", "null") else None


def with_checkpoint(recipe: Recipe, pretrained: Pretrained) -> Recipe:
    """The recipe whose ``model.params.init`` is the checkpoint's local file (what the model factory loads)."""
    params = {**recipe.model.params, "init": str(pretrained.path)}
    return recipe.model_copy(update={"model": recipe.model.model_copy(update={"params": params})})


def run_experiment(loaded: LoadedRecipe, tracker: Tracker, *, resume: str | None = None, progress: bool = True) -> ExperimentRun:
    """Run the recipe's protocol inside a run of ``tracker``: a new one, or ``resume`` (a run id)."""
    recipe = loaded.recipe
    if recipe.stage != "train":
        raise RecipeError(f"recipe '{recipe.name}' has stage: {recipe.stage}; run it with 'mer4d pretrain', not 'mer4d run'")
    if len(recipe.seeds()) > 1:
        raise RecipeError(f"recipe '{recipe.name}' asks for seeds {recipe.seeds()} (repeats); run it with mer4d.train.repeats.run_recipe, which runs each seed")
    stored_fingerprint = None
    if resume:
        stored = tracker.find_run(resume)
        check_resumable(resume, stored, loaded)
        tracker.resume_run(resume)
        run_id, stored_fingerprint = resume, stored.fingerprint
    else:
        run_id = tracker.start_run(loaded)
    with ends_on_failure(tracker):
        check_recipe_fits(recipe)  # a model/task mismatch fails before the data is built
        pretrained, reference = None, init_reference(recipe)
        if reference is not None:  # resolved once: every fold starts from the same checkpoint
            pretrained = tracker.resolve_pretrained(reference)
            tracker.set_pretrained(pretrained)
            recipe = with_checkpoint(recipe, pretrained)
        with main_first():  # under torchrun rank 0 fills the dataset caches, the others then read them
            corpus = build_corpus(recipe)
        if stored_fingerprint is not None and stored_fingerprint != corpus.fingerprint:
            raise TrackingError(f"--resume {run_id}: the dataset changed since the run started (fingerprint {stored_fingerprint} -> {corpus.fingerprint})")
        tracker.set_data(corpus.fingerprint, corpus.description)
        result = run_protocol(recipe, corpus, tracker, progress=progress, pretrained=pretrained)
        tracker.log_results(result)
    tracker.finish_run()
    return ExperimentRun(run_id, result)
