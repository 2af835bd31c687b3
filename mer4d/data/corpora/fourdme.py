"""4DME (Li et al., IEEE TAC 2022): label spreadsheet(s) + per-clip modality folders -> Index.

Layout read (datasets.md §6; the simulator writes the same, folder names it cannot confirm are
marked "simulator convention" in docs/datasets.md)::

    ROOT/*Labelling_Micro*.xlsx, *Labelling_Macro*.xlsx      (not the *_extras_* file)
    ROOT/gray_micro/{sub_ID}/{fold_name}/*.jpg               60 fps, absolute frame numbers
    ROOT/kinect_rgb_micro/...  kinect_depth_micro/...        30 fps (numbers = 60 fps number // 2)
    ROOT/mesh_micro/{sub_ID}/{fold_name}/*.obj|*.ply         60 fps

Without a root, the built-in simulator writes this layout once into the cache and it is read
from there (see ``mer4d.data.cache``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.corpora.fourdme_labels import parse_rows, read_sheet
from mer4d.data.corpora.registry import DATASETS
from mer4d.data.corpus import Corpus
from mer4d.data.index import shuffle_labels as shuffled
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem, raise_if_fatal
from mer4d.data.protocols import subject_kfold
from mer4d.labels.au_emotion import FOURDME_EMOTIONS

# Folder candidates per modality, "{kind}" is micro or macro; the first that exists wins.
MODALITY_DIRS = {
    "gray": ("gray_{kind}", "gray_{kind}_crop", "{kind}_short_gray_video_cropped"),
    "rgb": ("kinect_rgb_{kind}",),
    "depth": ("kinect_depth_{kind}",),
    "mesh": ("mesh_{kind}",),
}
FPS = {"gray": 60.0, "rgb": 30.0, "depth": 30.0, "mesh": 60.0}


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
    folds = subject_kfold(index, k=min(5, index["subject"].nunique()), seed=seed, stratify="emotion")
    out = pd.Series(index=index.index, dtype=object)
    for fold in folds:
        out.iloc[fold.test] = fold.name.split("=")[-1]
    return out.astype(str), f"generated (subject 5-fold, seed {seed})"


def scan(root: Path, seed: int = 0, kinds: tuple[str, ...] = ("micro", "macro")) -> tuple[pd.DataFrame, list[Problem]]:
    """Build the Index from the label file(s) and list every problem (labels and frames)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"4DME: dataset.root {root} is not a folder")
    rows, problems = [], []
    for kind, path in label_files(root).items():
        if kind in kinds:
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
    problems += frame_problems(index)
    index["fold"], source = _folds(index, seed)
    index.attrs["fold_source"] = source
    return validate_index(index, source=f"4DME at {root}"), problems


def frame_problems(index: pd.DataFrame) -> list[Problem]:
    """Missing modality folders and missing frames between onset and offset."""
    from mer4d.data.readers.frames import list_frames

    problems = []
    for row in index.itertuples():
        if row.gray_dir is None:
            problems.append(Problem("fatal", "gray frames", row.clip_id, "no gray frame folder for this clip"))
            continue
        try:
            numbers = {n for n, _ in list_frames(row.gray_dir)}
        except DataError as exc:
            problems.append(Problem("fatal", row.gray_dir, row.clip_id, str(exc)))
            continue
        missing = sorted(set(range(row.onset, row.offset + 1)) - numbers)
        if missing:
            shown = missing[:5] + (["..."] if len(missing) > 5 else [])
            problems.append(Problem("fatal", row.gray_dir, row.clip_id, f"{len(missing)} frame(s) between onset {row.onset} and offset {row.offset} are missing: {shown}"))
    return problems


@DATASETS.register("4dme")
def load_fourdme(
    root: Path | None = None,
    *,
    seed: int = 0,
    modality: str = "gray",
    frames: int = 10,
    strategy: str = "interpolate",
    size: int = 112,
    kinds: tuple[str, ...] = ("micro",),
    sim_size: str = "quick",
    sim_seed: int = 0,
    shuffle_labels: bool = False,
    render: dict | None = None,
    face: dict | None = None,
    progress: bool = True,
) -> Corpus:
    """4DME (or its simulation when no root is given): multi-label emotions, gray/RGB/depth clips.

    ``shuffle_labels=True`` permutes the labels across clips (seeded by ``seed``): the chance-level
    control a result should be compared with. ``face`` is ``preprocess.face`` as a dict: when
    enabled, gray / rgb clips are face-aligned and cropped once at load time (cached; see
    :mod:`mer4d.data.corpora.fourdme_face`), then sampled and resized to ``size``.
    """
    if root is None:
        from mer4d.data.cache import simulated_dataset

        root = simulated_dataset("4dme", size=sim_size, seed=sim_seed)
        origin = f"built-in 4DME simulator ({sim_size}, seed {sim_seed}) cached at {root}"
    else:
        origin = f"4DME at {root}"
    if modality not in ("gray", "rgb", "depth", "mesh"):
        raise DataError(f"4DME: unknown modality '{modality}'; expected gray, rgb, depth or mesh (rendered to multi-view dynamic images)")
    index, problems = scan(Path(root), seed=seed, kinds=tuple(kinds))
    raise_if_fatal(problems, "4dme", root)
    if not isinstance(shuffle_labels, (bool, np.bool_)):
        raise DataError(f"4DME: dataset.params.shuffle_labels must be true or false, got {shuffle_labels!r}")
    if shuffle_labels:
        index = shuffled(index, seed)
        origin += ", labels SHUFFLED (control)"
    column = f"{modality}_dir"
    if index[column].isna().any():
        raise DataError(f"4DME: {index[column].isna().sum()} clip(s) have no {modality} folder, e.g. {index.loc[index[column].isna(), 'clip_id'].iloc[0]}")
    keyed = index[["clip_id", "onset", "apex", "offset", "emotion", "fold"]].astype(str)
    face = dict(face or {})
    scale = 2 if FPS[modality] == 30.0 else 1  # Kinect frames are numbered at 30 fps
    if face.get("enabled", False):  # gray / rgb only: face_corpus says so for depth and mesh
        from mer4d.data.corpora.fourdme_face import face_corpus

        index, read_aligned, origin = face_corpus(index, modality, face, scale, progress, origin)
        keyed = keyed.assign(face=index["face_source"])  # where each clip's landmarks came from
        loader = _clip_loader(index, modality, frames, strategy, size, scale, read_aligned)
    elif modality == "mesh":
        index, loader, origin = _mesh_corpus(index, render or {}, size, frames, progress, origin)
    else:
        loader = _clip_loader(index, modality, frames, strategy, size, scale)
    # The data a run sees is the clips plus every setting that shaped them (all loader branches alike).
    shaping = repr((modality, frames, strategy, size, sorted(face.items()), sorted((render or {}).items()) if modality == "mesh" else None))
    digest = pd.util.hash_pandas_object(keyed.assign(settings=shaping)).sum()
    return Corpus(
        name="4dme", index=index, classes=FOURDME_EMOTIONS, load_clip=loader,
        fingerprint=f"{np.uint64(digest):016x}", description=f"{origin}: {len(index)} clips, {index['subject'].nunique()} subjects; folds {index.attrs['fold_source']}",
    )


def _mesh_corpus(index: pd.DataFrame, render: dict, size: int, frames: int, progress: bool, origin: str):
    """Index (+ EVM copies when ``render.magnify``) and a loader of (V, D, size, size) dynamic images."""
    from mer4d.data.corpora.fourdme_mesh import build_dynamic_images, settings_from_render

    settings = settings_from_render(render, int(render.get("size", size)), frames)
    plain, boosted = build_dynamic_images(index, settings, bool(render.get("magnify", False)), progress)
    arrays = plain
    index = index.assign(augmented_from=-1)
    if boosted is not None:
        copies = index.assign(clip_id=index["clip_id"] + "#evm", augmented_from=np.arange(len(index)))
        index, arrays = pd.concat([index, copies], ignore_index=True), plain + boosted
        origin += ", + EVM-magnified training copies"
    origin += f"; views {'/'.join(settings.views)} x domains {'/'.join(settings.domains)} at {settings.size} px"

    def load(position: int) -> np.ndarray:
        return arrays[position].copy()

    return index, load, origin


def clip_range(row: pd.Series, scale: int) -> tuple[int, int, int]:
    """(first, apex, last) frame numbers of a clip in a modality numbered ``60 fps / scale``.

    Kinect frame m shows 60 fps frame 2m, so the frames inside onset..offset are
    ceil(onset / 2)..floor(offset / 2) (onset // 2 is missing when the onset is odd).
    """
    first, last = -(-int(row["onset"]) // scale), int(row["offset"]) // scale
    return first, min(max(int(row["apex"]) // scale, first), last), last


def _clip_loader(index: pd.DataFrame, modality: str, frames: int, strategy: str, size: int, scale: int, read_clip=None):
    """Row position -> (C, frames, size, size) float32; ``read_clip(position) -> (clip, numbers)``
    replaces the frame-folder reader (face-aligned clips)."""
    import cv2

    from mer4d.data.readers import read_depth, read_frames
    from mer4d.data.sampling import sample_clip

    # Sampled clips are small (C x frames x size^2); decoding the JPEGs again every epoch is not.
    cache: dict[int, np.ndarray] = {}

    def load(position: int) -> np.ndarray:
        if position not in cache:
            cache[position] = read(position)
        return cache[position].copy()  # callers may not change the cached array

    def read(position: int) -> np.ndarray:
        row = index.iloc[position]
        first, apex, last = clip_range(row, scale)
        if read_clip is not None:
            clip, numbers = read_clip(position)
        elif modality == "depth":
            clip, numbers = read_depth(row[f"{modality}_dir"], first, last)
            clip = np.nan_to_num(clip, nan=0.0)
        else:
            clip, numbers = read_frames(row[f"{modality}_dir"], first, last, color="gray" if modality == "gray" else "rgb")
        sampled = sample_clip(clip.astype(np.float32), numbers, strategy, frames, onset=first, apex=apex)
        t, c = sampled.shape[:2]
        if sampled.shape[2:] != (size, size):  # a face crop of preprocess.size is used as it is
            sampled = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in sampled.reshape(t * c, *sampled.shape[2:])])
        resized = sampled.reshape(t, c, size, size).transpose(1, 0, 2, 3)
        if modality == "depth":  # millimetres -> zero-mean within the face, metres scale
            valid = resized > 0
            centre = resized[valid].mean() if valid.any() else 0.0
            return np.where(valid, (resized - centre) / 100.0, 0.0).astype(np.float32)
        return (resized / 255.0).astype(np.float32)

    return load
