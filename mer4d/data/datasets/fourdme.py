"""4DME (Li et al., IEEE TAC 2022): label spreadsheet(s) + per-clip modality folders -> Index.

Layout read (datasets.md §6; the simulator writes the same, folder names it cannot confirm are
marked "simulator convention" in docs/datasets.md)::

    ROOT/*Labelling_Micro*.xlsx, *Labelling_Macro*.xlsx      (not the *_extras_* file)
    ROOT/gray_micro/{sub_ID}/{fold_name}/*.jpg               60 fps, absolute frame numbers
    ROOT/kinect_rgb_micro/...  kinect_depth_micro/...        30 fps (numbers = 60 fps number // 2)
    ROOT/mesh_micro/{sub_ID}/{fold_name}/*.obj|*.ply         60 fps

Labels are multi-label (``emotions``; ``emotion`` joins them with ``+``) and keep the release's
capitalised spelling (``Positive``): its one-hot columns are named so. A clip folder missing on
disk is a fatal problem of that clip (the pipeline's file check names the modality).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets.fourdme_labels import parse_rows, read_sheet
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem
from mer4d.data.protocols import subject_kfold
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root
from mer4d.labels.au_emotion import FOURDME_EMOTIONS

# Folder candidates per modality, "{kind}" is micro or macro; the first that exists wins.
MODALITY_DIRS = {
    "gray": ("gray_{kind}", "gray_{kind}_crop", "{kind}_short_gray_video_cropped"),
    "rgb": ("kinect_rgb_{kind}",),
    "depth": ("kinect_depth_{kind}",),
    "mesh": ("mesh_{kind}",),
}


def label_files(root: Path) -> dict[str, Path]:
    """``{"micro": path, "macro": path}`` for the label spreadsheets found under ``root``."""
    found = {}
    for kind in ("micro", "macro"):
        hits = sorted(p for p in root.glob(f"*Labelling_{kind.capitalize()}*.xls*") if "extras" not in p.name.lower())
        if hits:
            found[kind] = hits[0]
    if "micro" not in found:
        raise DataError(f"4DME at {root}: no label spreadsheet matching '*Labelling_Micro*.xlsx'; point dataset.root at the folder holding it")
    return found


def modality_dir(root: Path, modality: str, kind: str) -> Path | None:
    for pattern in MODALITY_DIRS[modality]:
        folder = root / pattern.format(kind=kind)
        if folder.is_dir():
            return folder
    return None


def _folds(index: pd.DataFrame, seed: int) -> tuple[pd.Series, str]:
    """The file's ``fold`` column when it is a subject split, else generated subject 5-folds."""
    given = index["fold"]
    if given.notna().all() and given.nunique() >= 2 and (index.groupby("subject")["fold"].nunique() == 1).all():
        return given.astype(str), "label file"
    if index["subject"].nunique() < 2:  # nothing to split; the pipeline says the dataset has one subject
        return pd.Series([None] * len(index), index=index.index, dtype=object), "none (one subject)"
    folds = subject_kfold(index, k=min(5, index["subject"].nunique()), seed=seed, stratify="emotion")
    out = pd.Series(index=index.index, dtype=object)
    for fold in folds:
        out.iloc[fold.test] = fold.name.split("=")[-1]
    return out.astype(str), f"generated (subject 5-fold, seed {seed})"


def scan(root: Path, seed: int = 0) -> tuple[pd.DataFrame, list[Problem]]:
    """Index of the micro and macro label files (``dataset.kind`` picks) and every label problem.

    ``seed`` only matters when the label file has no subject folds: they are then generated.
    """
    root = require_root(root, "4DME")
    rows, problems = [], []
    for kind, path in label_files(root).items():
        found, issues = parse_rows(read_sheet(path), path, kind)
        rows += found
        problems += issues
    if not rows:
        raise DataError(f"4DME at {root}: no usable clip in the label file(s); problems: {[p.message for p in problems[:5]]}")
    index = pd.DataFrame(rows)
    dup = index["clip_id"][index["clip_id"].duplicated()]
    for clip in dup:
        problems.append(Problem("fatal", "label file", clip, "the same sub_ID/fold_name appears twice"))
    index = index.drop_duplicates("clip_id").reset_index(drop=True)
    for modality in MODALITY_DIRS:
        index[f"{modality}_dir"] = [
            str(folder / s / n) if (folder := modality_dir(root, modality, k)) is not None and (folder / s / n).is_dir() else None
            for s, n, k in zip(index["subject"], index["clip_name"], index["kind"], strict=True)
        ]
    folds, sources = [], set()
    for _, part in index.groupby("kind", sort=False):  # per kind: a micro-only run gets the same folds as a micro+macro scan
        fold, source = _folds(part.reset_index(drop=True), seed)
        folds.append(pd.Series(fold.to_numpy(), index=part.index))
        sources.add(source)
    index["fold"] = pd.concat(folds).reindex(index.index)
    index.attrs["fold_source"] = "; ".join(sorted(sources))
    return validate_index(index, source=f"4DME at {root}"), problems


SPEC = register(DatasetSpec(
    name="4dme",
    title="4DME (Li et al. 2022): gray 60 fps, Kinect RGB / depth 30 fps, 3D meshes 60 fps; multi-label emotions",
    scan=scan,
    schemes={"own": LabelScheme.identity(FOURDME_EMOTIONS, "4DME release: five one-hot emotion columns (Li et al. 2022, §3.3)", multilabel=True)},
    default_scheme="own",
    modalities={
        "gray": Modality("gray_dir"),
        "rgb": Modality("rgb_dir", color="rgb", scale=2, fps=30.0),  # Kinect frame m shows 60 fps frame 2m
        "depth": Modality("depth_dir", reader="depth", scale=2, fps=30.0),
        "mesh": Modality("mesh_dir", reader="mesh"),
    },
    writer="4dme",
    folds="the label file's subject folds when it has them, else subject 5-folds generated from the recipe seed",
))
