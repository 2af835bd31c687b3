"""A finished run rebuilt for analysis: its data exactly as it trained on, its folds, each fold's kept model.

The run's resolved recipe (``recipe.resolved.yaml``) rebuilds the corpus through the same call
``mer4d run`` makes, and the dataset fingerprint must equal the one the run recorded; the
protocol then gives the same folds (deterministic by seed). Each fold's checkpoint
(``train.keep_checkpoints``) names the clips it trained and tested on, and these must equal the
rebuilt fold's: an analysis shows a model only clips of its own test fold, never one it trained on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from mer4d.core.errors import TrackingError
from mer4d.data.corpus import Corpus
from mer4d.recipes.load import validate
from mer4d.recipes.schema import Recipe
from mer4d.tracking.fold_store import RunFolds
from mer4d.tracking.mlflow_tracker import FINGERPRINT_TAG, REPEATS_TAG
from mer4d.train.checkpoints import FoldCheckpoint, load_checkpoint
from mer4d.train.runner import build_folds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldModel:
    number: int
    name: str
    checkpoint: FoldCheckpoint
    test: np.ndarray  # the fold's test row positions in the corpus


@dataclass(frozen=True)
class RebuiltRun:
    run_id: str
    recipe: Recipe
    corpus: Corpus
    folds: list[FoldModel]


def stored_recipe(run: RunFolds) -> Recipe:
    """The run's resolved recipe; it must have kept its checkpoints."""
    if REPEATS_TAG in run.run.data.tags:
        raise TrackingError(f"--run {run.run_id}: that is a repeats run (seeds {run.run.data.tags.get('mer4d.seeds', '?')}); "
                            "give one of its seed runs (the MLflow UI lists them under it)")
    recipe = validate(yaml.safe_load(run.recipe_yaml()), f"run {run.run_id} recipe.resolved.yaml")
    if not recipe.train.keep_checkpoints:
        raise TrackingError(f"--run {run.run_id}: that run did not keep its fold models (train.keep_checkpoints is false), so there is "
                            f"no model to explain; rerun its recipe with --set train.keep_checkpoints=true, e.g. "
                            f"mer4d run {run.run.data.tags.get('mer4d.recipe_file', 'RECIPE')} --set train.keep_checkpoints=true")
    return recipe


def check_fold(where: str, checkpoint: FoldCheckpoint, ids: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """The checkpoint's clips are the rebuilt fold's, and no test clip is among its training clips."""
    if checkpoint.test_clip_ids != tuple(ids[test]) or checkpoint.train_clip_ids != tuple(ids[train]):
        raise TrackingError(f"{where}: the clips the checkpoint was trained / tested on differ from the rebuilt fold's "
                            f"({len(checkpoint.train_clip_ids)}/{len(checkpoint.test_clip_ids)} stored, {len(train)}/{len(test)} now); "
                            "the data or protocol changed since the run")
    seen = set(checkpoint.train_clip_ids) | set(ids[train])
    leaked = sorted(set(ids[test]) & seen)
    if leaked:
        raise TrackingError(f"{where}: test clips {leaked[:5]} are among the fold's training clips; refusing to explain a model on clips it saw")


def rebuild_run(run: RunFolds, downloads: Path, progress: bool = True) -> RebuiltRun:
    """The run's corpus (checked by fingerprint), folds and fold models (checked clip by clip)."""
    from mer4d.pipeline import load_corpus

    recipe = stored_recipe(run)
    stored = run.folds(downloads)
    if not stored:
        raise TrackingError(f"--run {run.run_id}: it has no finished fold runs; let 'mer4d run ... --resume {run.run_id}' finish it first")
    missing = [f.name for f in stored if f.checkpoint is None]
    if missing:
        raise TrackingError(f"--run {run.run_id}: fold(s) {missing} hold no fold/model.pt although the recipe keeps checkpoints "
                            "(they were finished by a version without train.keep_checkpoints); rerun with --set train.keep_checkpoints=true")
    corpus = load_corpus(recipe, progress=progress)
    recorded = run.run.data.tags.get(FINGERPRINT_TAG)
    if recorded is not None and recorded != corpus.fingerprint:
        raise TrackingError(f"--run {run.run_id}: the data rebuilt from its recipe differs from what it trained on (fingerprint "
                            f"{recorded} -> {corpus.fingerprint}); the dataset root or the simulator changed since the run")
    folds = build_folds(recipe, corpus)
    ids = corpus.index["clip_id"].astype(str).to_numpy()
    out = []
    for fold in stored:
        where = f"run {run.run_id} fold {fold.number} ({fold.name})"
        if fold.number >= len(folds) or folds[fold.number].name != fold.name:
            raise TrackingError(f"{where}: the rebuilt protocol has no such fold ({[f.name for f in folds]})")
        checkpoint = load_checkpoint(fold.checkpoint, where)
        check_fold(where, checkpoint, ids, folds[fold.number].train, folds[fold.number].test)
        out.append(FoldModel(fold.number, fold.name, checkpoint, folds[fold.number].test))
    if len(out) < len(folds):
        log.warning(f"run {run.run_id}: {len(out)} of {len(folds)} folds finished; maps cover their test clips only")
    return RebuiltRun(run.run_id, recipe, corpus, out)
