"""Run a recipe's protocol over all folds and pool the predictions (DESIGN §4).

Each fold is seeded from (recipe seed, fold number) only, so a fold gives the same result
whether it runs in one go or after a resume, and finished folds reported by the tracker are
reused instead of recomputed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mer4d.core.errors import RecipeError
from mer4d.core.progress import progress_bar
from mer4d.data.corpus import Corpus
from mer4d.data.protocols import Fold, make_folds
from mer4d.models import ModelInfo, build_model, check_model_params, model_info
from mer4d.recipes.schema import Recipe, TrainCfg
from mer4d.train import distributed
from mer4d.train.ceilings import ceiling_metrics
from mer4d.train.checkpoints import check_keepable, fold_checkpoint
from mer4d.train.classic import FeatureRows, fit_and_score
from mer4d.train.clipset import ClipSet
from mer4d.train.engine import fit, predict, seed_everything
from mer4d.train.evidence import interval_metrics, shuffled_rows
from mer4d.train.inner_split import inner_validation_split
from mer4d.train.pretrained import Pretrained, check_unseen
from mer4d.train.targets import (
    LABEL_COLUMN,
    MULTILABEL_TASKS,
    au_classes,
    encode_targets,
    prediction_table,
    table_confusion,
    table_metrics,
)
from mer4d.train.tracker import FoldOutcome, Tracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolResult:
    classes: tuple[str, ...]
    task: str
    folds: list[FoldOutcome]
    table: pd.DataFrame  # pooled predictions of every fold
    metrics: dict[str, float]  # pooled (MEGC) metrics, fold_mean_* labelled as such, M_ci_low / M_ci_high (subject bootstrap, train.evidence)
    confusion: np.ndarray | None  # (K, K) for single-label tasks


def fold_seed(recipe_seed: int, fold_number: int) -> int:
    return recipe_seed * 100_003 + fold_number


def augmented_source(corpus: Corpus) -> np.ndarray:
    """Each row's original (its row position) for augmented copies, -1 for original clips."""
    return corpus.index["augmented_from"].to_numpy() if "augmented_from" in corpus.index else np.full(len(corpus.index), -1)


def training_targets(recipe: Recipe, corpus: Corpus, fold: Fold, seed: int, targets: np.ndarray, au_targets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The targets the fold trains on: ``targets`` as they are, or with ``control: shuffled`` the
    training clips' labels permuted among themselves (seeded by the fold's seed; AU side targets
    move with their clip's emotions). Test rows keep their labels either way."""
    if recipe.control != "shuffled":
        return targets, au_targets
    rows = shuffled_rows(fold.train, augmented_source(corpus), seed)
    return targets[rows], None if au_targets is None else au_targets[rows]


def check_loss_fits(train: TrainCfg, task: str, multilabel: bool) -> None:
    """``train.loss`` against the task and the other rebalancing settings (algorithms.md §11)."""
    loss = train.loss
    balanced = loss.name in ("class_balanced", "class_balanced_focal")
    if multilabel and loss.name == "ce":
        raise RecipeError(f"dataset.task={task} is multi-label and needs train.loss=bce (or a class-balanced loss with variant sigmoid), got 'ce'")
    if not multilabel and loss.name == "bce":
        raise RecipeError(f"dataset.task={task} is single-label and needs train.loss=ce (or class_balanced / class_balanced_focal), got 'bce'")
    if multilabel and balanced and loss.variant == "softmax":
        raise RecipeError(f"dataset.task={task} is multi-label: a softmax class-balanced loss needs one class per clip; set train.loss.variant=sigmoid")
    if balanced and train.class_weight == "balanced":
        raise RecipeError(f"train.loss={loss.name} already weights classes by their effective number; train.class_weight=balanced would "
                          "weight them twice. Set train.class_weight=none (or train.loss.name=ce)")
    if balanced and train.resample == "uniform":
        log.warning(f"train.resample=uniform with train.loss={loss.name}: each class is drawn equally often AND reweighted, which "
                    "double-counts the rebalancing (algorithms.md §11); the DFME paper compares the two, one at a time")


def check_recipe_fits(recipe: Recipe) -> None:
    """Cheap consistency checks before any data is loaded or model built (from the model's
    registered :class:`~mer4d.models.ModelInfo`, never from a model object)."""
    entry = check_model_params(recipe.model.name, recipe.model.params)  # unknown name or option -> did-you-mean error
    check_keepable(recipe.train.keep_checkpoints, entry.info.kind, recipe.model.name)
    multilabel = recipe.dataset.task in MULTILABEL_TASKS
    check_loss_fits(recipe.train, recipe.dataset.task, multilabel)
    if recipe.train.hflip and entry.info.input.has_views:
        raise RecipeError("train.hflip mirrors every view in place, so a mirrored left view would reach the left-view branch looking like a "
                          "right view; turn train.hflip off for multi-view models")
    if entry.info.kind == "classic" and distributed.world().parallel:
        raise RecipeError(f"model '{recipe.model.name}' is a classic model (features + scikit-learn), fitted once per fold in one process; "
                          "there is nothing to train data-parallel. Run it without torchrun: mer4d run RECIPE")
    option = entry.info.multilabel_option
    declared = entry.option(recipe.model.params, option) if option is not None else None
    if isinstance(declared, bool) and declared != multilabel:  # a non-boolean value is the factory's to refuse
        raise RecipeError(f"model.params.{option}={declared} but dataset.task={recipe.dataset.task} is {'multi' if multilabel else 'single'}-label; "
                          f"set model.params.{option}: {str(multilabel).lower()}")


def check_sample_layout(name: str, info: ModelInfo, sample: np.ndarray) -> None:
    """The corpus's samples have the dimensions the model's declared input layout expects."""
    if sample.ndim != len(info.input.sample_dims):
        raise RecipeError(
            f"model '{name}' eats batches {info.input}, i.e. samples ({', '.join(info.input.sample_dims)}), but this corpus gives samples of "
            f"shape {tuple(sample.shape)}; pick a model for this data (mer4d models list shows each one's input) or change the dataset's modality"
        )


def build_folds(recipe: Recipe, corpus: Corpus) -> list[Fold]:
    """The protocol's folds over the original clips; augmented copies (an ``augmented_from``
    column holding the original's row position, -1 for originals) join their original's
    training set and never appear in a test set."""
    task = recipe.dataset.task
    label_column = None if task in MULTILABEL_TASKS else LABEL_COLUMN[task]
    source = augmented_source(corpus)
    originals = np.flatnonzero(source < 0)
    folds = make_folds(
        corpus.index.iloc[originals].reset_index(drop=True),
        recipe.protocol.kind,
        folds=recipe.protocol.folds,
        seed=recipe.seed,
        column=recipe.protocol.column,
        label_column=label_column,
        train_only=recipe.protocol.train_only,
        subject_overlap=recipe.protocol.subject_overlap,
    )
    if len(originals) == len(source):
        return folds
    copies = np.flatnonzero(source >= 0)
    out = []
    for fold in folds:
        train = originals[fold.train]
        extra = copies[np.isin(source[copies], train)]
        out.append(Fold(fold.name, np.sort(np.concatenate([train, extra])), originals[fold.test]))
    return out


def au_side_targets(corpus: Corpus, min_clips: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The AU detection classes and (N, K_au) multi-hot targets, for models that learn AUs next to emotions."""
    names = au_classes(corpus.index, min_clips)
    return names, encode_targets(corpus.index, "au", names)


def run_fold(
    recipe: Recipe, corpus: Corpus, fold: Fold, number: int, targets: np.ndarray, classes: tuple[str, ...], in_channels: int, tracker: Tracker, progress: bool,
    feature_rows: FeatureRows | None = None, au: tuple[tuple[str, ...], np.ndarray] | None = None,
) -> FoldOutcome:
    """Train on the fold's training subjects and predict its test subjects once. Classic models
    fit on ``feature_rows`` (the corpus's features, shared by every fold); models that learn AUs
    get ``au`` = (AU classes, (N, K_au) targets of every row)."""
    seed = fold_seed(recipe.seed, number)
    seed_everything(seed)
    train_pos, val_pos = fold.train, None
    if recipe.train.val_fraction > 0:
        train_pos, val_pos = inner_validation_split(corpus.index, fold.train, recipe.train.val_fraction, seed)
    au_names, au_targets = au if au is not None else (None, None)
    info = model_info(recipe.model.name)
    num_aus = None if au_names is None else len(au_names)
    model = build_model(recipe.model.name, num_classes=len(classes), in_channels=in_channels, num_aus=num_aus, **recipe.model.params)
    multilabel = recipe.dataset.task in MULTILABEL_TASKS
    checkpoint = None
    subjects = {f"{part}_subjects": ",".join(sorted(map(str, corpus.index["subject"].iloc[pos].unique()))) for part, pos in (("train", fold.train), ("test", fold.test))}
    tracker.start_fold(number, fold.name, {"train_clips": len(train_pos), "val_clips": 0 if val_pos is None else len(val_pos), "test_clips": len(fold.test), **subjects})
    fit_targets, au_targets = training_targets(recipe, corpus, fold, seed, targets, au_targets)
    if info.kind == "classic":
        scores = fit_and_score(model, feature_rows, train_pos, fold.test, fit_targets)
        epochs_run = best_epoch = 0
    else:
        if info.learns_aus:  # co-occurrence from this fold's training clips only (algorithms.md §7)
            model.set_au_cooccurrence(au_targets[train_pos])
        result = fit(
            model,
            ClipSet(corpus, train_pos, fit_targets, au_targets),
            recipe.train,
            seed=seed,
            val_set=None if val_pos is None else ClipSet(corpus, val_pos, fit_targets, au_targets),
            on_epoch=tracker.log_epoch,
            progress=progress,
            desc=f"fold {number + 1} epochs",
            num_classes=len(classes),
            training_loss=info.training_loss,
            layout=info.input.layout,
        )
        # rank 0 predicts every test clip with the plain module, as one process would (distributed.py)
        scores = distributed.on_main(lambda: predict(model, ClipSet(corpus, fold.test, targets), recipe.train, multilabel, info.input.layout))
        epochs_run, best_epoch = result.epochs_run, result.best_epoch
        if recipe.train.keep_checkpoints:
            checkpoint = fold_checkpoint(model, fold_number=number, fold_name=fold.name, model_name=recipe.model.name, params=recipe.model.params,
                                         num_classes=len(classes), in_channels=in_channels, num_aus=num_aus, classes=classes, index=corpus.index,
                                         train_rows=fold.train, test_rows=fold.test)
    table = prediction_table(corpus.index.iloc[fold.test], fold.name, targets[fold.test], scores, classes, recipe.dataset.task)
    metrics = table_metrics(table, classes, recipe.dataset.task)
    metrics["epochs_run"] = float(epochs_run)
    metrics["best_epoch"] = float(best_epoch)
    return FoldOutcome(number=number, name=fold.name, table=table, metrics=metrics, epochs_run=epochs_run, checkpoint=checkpoint)


def seen_views(recipe: Recipe) -> tuple[str, ...] | None:
    """The rendered views the model reads when ``model.params.views`` picks some of ``render.views`` by
    position (single-view CCDN); None: every view the data holds."""
    picked = recipe.model.params.get("views")
    return tuple(recipe.render.views[i] for i in picked) if isinstance(picked, list | tuple) else None


def run_protocol(recipe: Recipe, corpus: Corpus, tracker: Tracker, progress: bool = True, pretrained: Pretrained | None = None) -> ProtocolResult:
    """Every fold of the recipe's protocol, skipping folds the tracker already has. With
    ``pretrained`` (the resolved ``model.params.init``), every fold is first checked to test on
    subjects its pre-training never saw."""
    check_recipe_fits(recipe)
    classes = tuple(recipe.dataset.classes or (au_classes(corpus.index, recipe.dataset.au_min_clips) if recipe.dataset.task == "au" else corpus.classes))
    targets = encode_targets(corpus.index, recipe.dataset.task, classes)
    folds = build_folds(recipe, corpus)
    if pretrained is not None:
        check_unseen(pretrained, corpus.index, folds)
    done = tracker.completed_folds()
    info = model_info(recipe.model.name)
    sample = corpus.load_clip(0)
    check_sample_layout(recipe.model.name, info, sample)
    in_channels = int(sample.shape[0])  # every sample of a corpus has the same first dimension (channels, or views)
    outcomes: list[FoldOutcome] = []
    feature_rows = None
    if info.kind == "classic":  # features depend on the clip only: computed once for all folds
        extractor = build_model(recipe.model.name, num_classes=len(classes), in_channels=in_channels, **recipe.model.params)
        feature_rows = FeatureRows(extractor, corpus, recipe.train.crop, progress, settings={"name": recipe.model.name, **recipe.model.params})
    au = au_side_targets(corpus, recipe.dataset.au_min_clips) if info.learns_aus else None
    for number, fold in enumerate(progress_bar(folds, desc="folds", disable=not progress, unit="fold")):
        if number in done:
            if done[number].name != fold.name:
                raise RecipeError(f"cannot resume: stored fold {number} is '{done[number].name}' but the protocol now gives '{fold.name}'")
            outcomes.append(done[number])
            log.info(f"fold {number + 1}/{len(folds)} {fold.name}: finished in an earlier attempt, reused")
            continue
        outcome = run_fold(recipe, corpus, fold, number, targets, classes, in_channels, tracker, progress, feature_rows, au)
        tracker.finish_fold(outcome)
        outcomes.append(outcome)
        headline = f"UF1 {outcome.metrics['uf1']:.3f}" if "uf1" in outcome.metrics else f"macro F1 {outcome.metrics['macro_f1']:.3f}"
        trained = "fitted once (classic model)" if info.kind == "classic" else f"after {outcome.epochs_run} epochs"
        log.info(f"fold {number + 1}/{len(folds)} {fold.name}: {headline} on {len(fold.test)} clips, {trained}")
    table = pd.concat([o.table for o in outcomes], ignore_index=True)
    multilabel = recipe.dataset.task in MULTILABEL_TASKS
    tested = np.concatenate([fold.test for fold in folds])
    ceilings = ceiling_metrics(corpus.index.iloc[tested], targets[tested], classes, recipe.dataset.task, seen_views(recipe))
    return ProtocolResult(
        classes=classes,
        task=recipe.dataset.task,
        folds=outcomes,
        table=table,
        metrics=table_metrics(table, classes, recipe.dataset.task) | interval_metrics([table], classes, recipe.dataset.task) | ceilings,
        confusion=None if multilabel else table_confusion(table, classes),
    )
