"""A fine-tuning run's starting checkpoint and the fold discipline it must keep.

A pre-training run records every subject it saw (``seen_subjects.json``, dataset-qualified keys
like ``casme3/spNO.1``). A fine-tuning run that starts from it refuses any fold whose test
subjects are among them: a test subject seen in pre-training (even without labels) leaks its
face and its expressions into the score. MoExt's paper pre-trains on CASME II and CAS(ME)^3 and
then tests on both; mer4d's recipes pre-train on datasets disjoint from the evaluated one instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import RecipeError
from mer4d.data.protocols import Fold

SEEN_SUBJECTS = "seen_subjects.json"

# --set keys that size or schedule a pre-training run without changing its method: such a run is still
# "the recipe's own" for model.params.init: pretrain:EXPERIMENT; any other --set makes it an ablation.
SIZING_KEYS = ("model.params.width", "model.params.feature_dim", "preprocess.size", "pretrain.epochs", "pretrain.batch_size", "pretrain.lr",
               "pretrain.weight_decay", "pretrain.examples", "dataset.simulator.", "train.device", "seed")


@dataclass(frozen=True)
class Pretrained:
    """A resolved ``model.params.init``: the checkpoint file and what its pre-training saw."""

    reference: str  # as the recipe wrote it (pretrain:EXPERIMENT, runs:/ID, a path)
    path: Path  # a local copy of the checkpoint
    run_id: str | None  # the pre-training run, when it came from the store
    subjects: frozenset[str]
    datasets: tuple[str, ...]
    variant: str = ""  # the pre-training run's --set overrides (its ablation), "" for the recipe's own settings


def read_seen(folder: Path, where: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The subjects and datasets of ``folder/seen_subjects.json`` (written by every pre-training run)."""
    import json

    path = folder / SEEN_SUBJECTS
    if not path.is_file():
        raise RecipeError(f"{where}: no {SEEN_SUBJECTS} beside the checkpoint, so mer4d cannot check that no test subject was seen in "
                          "pre-training; use a checkpoint written by 'mer4d pretrain' (model.params.init: pretrain:EXPERIMENT or runs:/RUN_ID)")
    record = json.loads(path.read_text())
    if not isinstance(record.get("subjects"), list) or not isinstance(record.get("datasets"), list):
        raise RecipeError(f"{path}: expected a JSON object with lists 'subjects' and 'datasets', found keys {sorted(record)}")
    return frozenset(map(str, record["subjects"])), tuple(map(str, record["datasets"]))


def local_pretrained(reference: str) -> Pretrained:
    """``model.params.init`` given as a checkpoint file path (its ``seen_subjects.json`` beside it)."""
    path = Path(reference).expanduser()
    if not path.is_file():
        raise RecipeError(f"model.params.init={reference!r}: no such checkpoint file; give pretrain:EXPERIMENT (the newest finished "
                          "pre-training run of that experiment), runs:/RUN_ID, or the path of a checkpoint written by mer4d pretrain")
    subjects, datasets = read_seen(path.parent, f"model.params.init={reference!r}")
    return Pretrained(reference, path, None, subjects, datasets)


def qualified_subject(dataset: str, subject: str) -> str:
    """``dataset/subject``; composite rows (MEGC2019) already carry their source as a prefix."""
    dataset, subject = str(dataset), str(subject)
    return subject if subject.startswith(f"{dataset}/") else f"{dataset}/{subject}"


def qualified_subjects(index: pd.DataFrame) -> np.ndarray:
    """Every row's ``dataset/subject``, in any Index (unlike :func:`mer4d.data.protocols.subject_keys`, which
    prefixes only a multi-dataset Index): the identity that is compared across a pre-training and a fine-tuning corpus."""
    return np.array([qualified_subject(d, s) for d, s in zip(index["dataset"], index["subject"], strict=True)], dtype=object)


def check_unseen(pretrained: Pretrained, index: pd.DataFrame, folds: list[Fold]) -> None:
    """Refuse the protocol when a fold's test subjects were seen by the checkpoint's pre-training."""
    keys = qualified_subjects(index)
    for fold in folds:
        leaked = sorted(set(keys[fold.test]) & pretrained.subjects)
        if leaked:
            shown = ", ".join(leaked[:5]) + (f" and {len(leaked) - 5} more" if len(leaked) > 5 else "")
            raise RecipeError(
                f"model.params.init={pretrained.reference}: fold '{fold.name}' tests on subject(s) {shown}, which the pre-training run "
                f"{pretrained.run_id or pretrained.path} saw (it pre-trained on {', '.join(pretrained.datasets)}). Pre-train on datasets "
                "disjoint from the evaluated one (recipes/moext_pretrain.yaml for CASME II / SAMM / SMIC / MEGC2019, "
                "recipes/moext_pretrain_casme2.yaml for CAS(ME)^3), or fine-tune without pre-training (--set model.params.init=null)"
            )
