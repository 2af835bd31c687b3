"""The self-supervised stage of a two-stage method as a tracked run (``mer4d pretrain``; MoExt, arXiv 2407.07345 §3.1).

recipe (``stage: pretrain``) -> onset / apex pairs of ``dataset`` and ``pretrain.extra_datasets``
(the clip pipeline with ``sampling.strategy: onset_apex``; macro clips take ``dataset.pseudo_apex``)
-> :func:`mer4d.train.pretrain.pretrain` -> the run's artifacts: the checkpoint, the subjects it saw
(``seen_subjects.json``, what a fine-tuning run checks its test folds against) and an image of
reconstructed apexes. Like :mod:`mer4d.train.experiment`, the tracker is passed in.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from mer4d.core.errors import RecipeError
from mer4d.data.corpus import Corpus
from mer4d.pipeline import load_corpus as build_corpus
from mer4d.recipes.load import LoadedRecipe
from mer4d.recipes.schema import PretrainCfg, Recipe
from mer4d.train.pretrained import SEEN_SUBJECTS, qualified_subjects
from mer4d.train.tracker import ends_on_failure

CHECKPOINT = "checkpoint/moext_pretrain.pt"  # artifact path of the weights in a pre-training run
RECONSTRUCTION = "reconstruction.png"


class StageTracker(Protocol):
    """What a pre-training run reports to (``MlflowTracker`` implements it)."""

    def start_run(self, loaded: LoadedRecipe) -> str: ...
    def set_data(self, fingerprint: str, description: str) -> None: ...
    def log_stage_epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...
    def log_folder(self, folder: Path) -> None:
        """Every file below ``folder`` as an artifact of the run, at its relative path."""
    def finish_run(self) -> None: ...
    def fail_run(self, status, error: BaseException | None = None) -> None: ...


@dataclass(frozen=True)
class PairSet:
    """Onset and apex frames of every pre-training clip, with the dataset-qualified subject of each."""

    onset: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    apex: np.ndarray
    subjects: tuple[str, ...]
    kinds: tuple[str, ...]  # micro / macro
    description: str
    fingerprint: str


@dataclass(frozen=True)
class PretrainRun:
    run_id: str
    pairs: int
    history: list[dict[str, float]]


def source_recipes(recipe: Recipe) -> list[Recipe]:
    """One recipe per pre-training source: ``dataset`` first, then ``pretrain.extra_datasets``."""
    cfg = recipe.pretrain or PretrainCfg()
    return [recipe] + [recipe.model_copy(update={"dataset": extra}) for extra in cfg.extra_datasets]


def check_stage(recipe: Recipe) -> None:
    if recipe.stage != "pretrain":
        raise RecipeError(f"recipe '{recipe.name}' has stage: {recipe.stage}; mer4d pretrain runs recipes with stage: pretrain "
                          "(a fine-tuning recipe runs with mer4d run)")
    if recipe.sampling.strategy != "onset_apex":
        raise RecipeError(f"recipe '{recipe.name}': pre-training reconstructs the apex from the onset, so it needs sampling.strategy: onset_apex "
                          f"(got {recipe.sampling.strategy})")


def pairs_of(corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    clips = np.stack([corpus.load_clip(i) for i in range(len(corpus.index))])  # (N, C, 2, H, W)
    if clips.ndim != 5 or clips.shape[2] != 2:
        raise RecipeError(f"{corpus.name}: expected onset/apex clips (C, 2, H, W) from sampling.strategy onset_apex, got {clips.shape[1:]}")
    return clips[:, :, 0], clips[:, :, 1]


def load_pairs(recipe: Recipe, progress: bool = True) -> PairSet:
    """The onset/apex pairs of every source of a pre-training recipe (one corpus per source)."""
    check_stage(recipe)
    onsets, apexes, subjects, kinds, notes, prints = [], [], [], [], [], []
    for source in source_recipes(recipe):
        corpus = build_corpus(source, progress=progress)
        onset, apex = pairs_of(corpus)
        if onsets and onset.shape[1:] != onsets[0].shape[1:]:
            raise RecipeError(f"pre-training sources disagree on the frame shape: {recipe.dataset.name} gives {onsets[0].shape[1:]}, "
                              f"{source.dataset.name} gives {onset.shape[1:]} (C, H, W); give every source the same dataset.modality")
        onsets.append(onset)
        apexes.append(apex)
        subjects += list(qualified_subjects(corpus.index))
        kinds += list(corpus.index["kind"].astype(str))
        notes.append(corpus.description)
        prints.append(corpus.fingerprint)
    return PairSet(np.concatenate(onsets), np.concatenate(apexes), tuple(subjects), tuple(kinds), " + ".join(notes), "-".join(prints))


def seen_record(recipe: Recipe, pairs: PairSet) -> dict:
    """What the checkpoint has seen: the datasets and every (dataset-qualified) subject."""
    return {
        "datasets": [s.dataset.name for s in source_recipes(recipe)],
        "kinds": dict(sorted(Counter(pairs.kinds).items())),
        "subjects": sorted(set(pairs.subjects)),
    }


def build_pretrain_net(recipe: Recipe, in_channels: int):
    from mer4d.models.moext.pretrain_net import MoExtPretrainNet

    if recipe.model.name != "moext":
        raise RecipeError(f"recipe '{recipe.name}': the pre-training stage exists for model moext, got model.name={recipe.model.name}")
    params = dict(recipe.model.params)
    unused = sorted(set(params) - {"width", "feature_dim", "motion", "dropout", "init"})
    if unused:
        raise RecipeError(f"recipe '{recipe.name}': model.params {unused} are not options of the MoExt pre-training network "
                          "(width, feature_dim, motion; dropout and init belong to fine-tuning)")
    if params.get("init") is not None:
        raise RecipeError(f"recipe '{recipe.name}': model.params.init={params['init']!r}: a pre-training run starts from scratch; remove it")
    keep = {k: params[k] for k in ("width", "feature_dim", "motion") if k in params}
    return MoExtPretrainNet(in_channels=in_channels, size=recipe.preprocess.size, **keep)


def run_pretrain_stage(loaded: LoadedRecipe, tracker: StageTracker, *, progress: bool = True) -> PretrainRun:
    """Pre-train the recipe's network in a new tracked run; a failure or Ctrl-C marks the run FAILED / KILLED."""
    import torch

    from mer4d.train.pretrain import example_grid, pretrain, reconstruction_examples, save_png

    recipe = loaded.recipe
    check_stage(recipe)
    cfg = recipe.pretrain or PretrainCfg()
    run_id = tracker.start_run(loaded)
    with ends_on_failure(tracker):
        pairs = load_pairs(recipe, progress)
        if len(pairs.onset) < 2:
            raise RecipeError(f"recipe '{recipe.name}': {len(pairs.onset)} pre-training pair(s); at least 2 are needed (the batch-mean anchor)")
        seen = seen_record(recipe, pairs)
        tracker.set_data(pairs.fingerprint, f"{len(pairs.onset)} pairs ({', '.join(f'{n} {k}' for k, n in seen['kinds'].items())}): {pairs.description}")
        net = build_pretrain_net(recipe, in_channels=int(pairs.onset.shape[1]))
        result = pretrain(net, pairs.onset, pairs.apex, cfg, seed=recipe.seed, device=recipe.train.device, progress=progress,
                          on_epoch=tracker.log_stage_epoch)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / CHECKPOINT).parent.mkdir(parents=True)
            torch.save(net.cpu().checkpoint(), folder / CHECKPOINT)
            (folder / SEEN_SUBJECTS).write_text(json.dumps(seen, indent=1))
            shown = np.linspace(0, len(pairs.onset) - 1, min(cfg.examples, len(pairs.onset))).round().astype(int)
            save_png(example_grid(reconstruction_examples(net, pairs.onset[shown], pairs.apex[shown], len(shown))), folder / RECONSTRUCTION)
            tracker.log_folder(folder)
    tracker.finish_run()
    return PretrainRun(run_id, len(pairs.onset), result.history)
