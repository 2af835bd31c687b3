"""MMEW (Ben et al., IEEE TPAMI 2021): ``MMEW_Micro_Exp.xlsx`` + ``Micro_Expression`` frame folders -> Index.

Layout read (datasets.md §8; the evidence is loader code, no MMEW label file was available)::

    ROOT/MMEW_Micro_Exp.xlsx                                 (or _v2 / _new / .csv; ROOT or one folder down)
    ROOT/Micro_Expression/{Estimated Emotion}/{Filename}/{N}.jpg    N = 1..len, unpadded, 90 fps
    ROOT/Micro_Expression/{Filename}/{N}.jpg                 copies that flatten the emotion level away
    ROOT/Macro_Expression/...                                macro stills: no onset/apex/offset, not indexed

Label sheet columns: ``Subject | Filename | OnsetFrame | ApexFrame | OffsetFrame | Action Units |
Estimated Emotion | remarks``. Frame numbers count from 1 *within the clip folder* (datasets.md
§0.2), so the Index keeps them as written: they already are the numbers of the frame files.
``Filename`` is ``S{person}-{emotion}-{sample}`` (``S03-01-002``); the sheet's ``Subject`` is the
Index subject, cross-checked against the person part of the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root

NAME = "mmew"
FPS = 90.0  # merlib MMEW_info.fps (datasets.md §8)
EMOTIONS: tuple[str, ...] = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")
COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion")
LABEL_STEM = "mmew_micro_exp"
LABEL_SUFFIXES = (".xlsx", ".xls", ".csv")
MICRO_DIR = "Micro_Expression"
# Label file names datasets.md §8 lists, newest first. Which of _v2 and _new came later is not
# documented; any other name (a browser's "MMEW_Micro_Exp (20).xlsx") ranks last.
VERSION_RANK = {"_v2": 3, "_new": 2, "": 1}
_PERSON = re.compile(r"^\s*S?0*(\d+)\s*-", re.IGNORECASE)


def _subdirs(folder: Path) -> list[Path]:
    """Sub-folders, without hidden ones (``.AppleDouble``, ``.ipynb_checkpoints``)."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def label_files(root: Path) -> list[Path]:
    """Candidate label files in ``root`` and its immediate sub-folders, best first."""
    folders = [root, *_subdirs(root)]
    found = [
        p for folder in folders for p in sorted(folder.iterdir())
        if p.is_file() and p.name.lower().startswith(LABEL_STEM) and p.suffix.lower() in LABEL_SUFFIXES
    ]
    return sorted(found, key=lambda p: (-_version_rank(p), LABEL_SUFFIXES.index(p.suffix.lower()), len(p.parts), str(p)))


def _version_rank(path: Path) -> int:
    return VERSION_RANK.get(path.stem.lower()[len(LABEL_STEM):].strip(), 0)


def choose_label_file(root: Path, label_file: str | None) -> tuple[Path, list[Problem]]:
    """The label file to read (``label_file`` forces one) and a warning when several were found."""
    found = label_files(root)
    if not found:
        raise DataError(f"MMEW at {root}: no label file named MMEW_Micro_Exp*.xlsx/.xls/.csv in the folder or its sub-folders; "
                        "point dataset.root at the folder holding MMEW_Micro_Exp.xlsx (datasets.md §8)")
    if label_file is not None:
        wanted = [p for p in found if label_file in (p.name, str(p.relative_to(root)), str(p))]
        if not wanted:
            raise DataError(f"MMEW at {root}: label_file {label_file!r} is not among the label files found: "
                            f"{[str(p.relative_to(root)) for p in found]}")
        return wanted[0], []
    chosen, others = found[0], found[1:]
    if not others:
        return chosen, []
    names = [str(p.relative_to(root)) for p in others]
    return chosen, [Problem("warning", str(chosen.relative_to(root)), "",
                            f"{len(found)} MMEW label files found; using {chosen.relative_to(root)} (name order _v2, _new, plain, "
                            f"xlsx before csv; datasets.md §8 does not date the versions), not {names}. "
                            "Set dataset.params.label_file to pick another one.")]


@dataclass(frozen=True)
class ClipFolder:
    """A clip folder under ``Micro_Expression``; ``emotion`` is its emotion folder (None when flat)."""

    path: Path
    emotion: str | None


def micro_dir(root: Path, label_path: Path) -> Path | None:
    """``Micro_Expression`` beside the label file, in ``root``, or in one sub-folder of ``root``."""
    for folder in dict.fromkeys([label_path.parent, root]):
        hit = _child_dir(folder, MICRO_DIR)
        if hit is not None:
            return hit
    hits = [h for p in _subdirs(root) if (h := _child_dir(p, MICRO_DIR)) is not None]
    if len(hits) > 1:
        raise DataError(f"MMEW at {root}: several {MICRO_DIR} folders {[str(h) for h in hits]}; point dataset.root at the one to use")
    return hits[0] if hits else None


def _child_dir(folder: Path, name: str) -> Path | None:
    return next((p for p in _subdirs(folder) if p.name.lower() == name.lower()), None)


def clip_folders(micro: Path) -> dict[str, list[ClipFolder]]:
    """Clip folders by lower-cased name: ``{emotion}/{Filename}`` folders and flat ``{Filename}`` ones."""
    found: dict[str, list[ClipFolder]] = {}
    for child in _subdirs(micro):
        emotion = child.name.strip().lower()
        if emotion in EMOTIONS:
            for clip in _subdirs(child):
                found.setdefault(clip.name.lower(), []).append(ClipFolder(clip, emotion))
        else:
            found.setdefault(child.name.lower(), []).append(ClipFolder(child, None))
    return found


def _pick_folder(candidates: list[ClipFolder], row: dict, micro: Path, where: str) -> tuple[ClipFolder | None, list[Problem]]:
    """The folder of ``row``: in its emotion's folder, else a flat one, else in another emotion's folder (warning)."""
    emotion, clip = row["emotion"], row["clip_id"]
    for wanted in (emotion, None):
        for c in candidates:
            if c.emotion == wanted:
                return c, []
    if not candidates:
        emotion_dir = _child_dir(micro, emotion)
        expected = (emotion_dir or micro / emotion) / row["clip_name"]
        reason = f"the emotion folder {micro / emotion} does not exist" if emotion_dir is None else f"{expected} does not exist"
        return None, [Problem("fatal", where, clip, f"no clip folder on disk: {reason} (nor a flat {micro.name}/{expected.name}); "
                                                    "restore the folder or remove the row")]
    other = candidates[0]
    return other, [Problem("warning", where, clip, f"clip folder is under {other.emotion}/, not {emotion}/ as the sheet says "
                                                  f"({other.path}); using it with the sheet's label {emotion!r}")]


def _subject(cells: pd.Series, cols: dict[str, str], where: str, clip_name: str) -> tuple[str | None, list[Problem]]:
    """The sheet's Subject, checked against the ``S{person}-`` prefix of Filename."""
    subject = cells[cols["Subject"]]
    person = _PERSON.match(clip_name)
    if not subject:
        if person is None:
            return None, [Problem("fatal", where, clip_name, "no Subject and the Filename has no S{person}- prefix; fill the Subject cell")]
        subject = f"S{int(person.group(1)):02d}"
        return subject, [Problem("warning", where, f"{subject}/{clip_name}", f"empty Subject cell; subject {subject} taken from the Filename")]
    digits = re.findall(r"\d+", subject)
    if person is not None and (not digits or int(digits[-1]) != int(person.group(1))):
        return subject, [Problem("warning", where, f"{subject}/{clip_name}",
                                 f"Subject {subject!r} differs from the person part of Filename {clip_name!r}; subject kept from the Subject cell")]
    return subject, []


def parse_row(cells: pd.Series, cols: dict[str, str], where: str) -> tuple[dict | None, list[Problem]]:
    """One Index row (without its folder) from one sheet row, or None with the fatal problem."""
    clip_name = cells[cols["Filename"]]
    if not clip_name:
        return None, [Problem("fatal", where, "", "empty Filename; the clip folder cannot be found without it")]
    subject, problems = _subject(cells, cols, where, clip_name)
    if subject is None:
        return None, problems
    clip = f"{subject}/{clip_name}"
    triplet, found = frame_triplet(cells[cols["OnsetFrame"]], cells[cols["ApexFrame"]], cells[cols["OffsetFrame"]], where, clip)
    problems += found
    emotion, found = emotion_label(cells[cols["Estimated Emotion"]], EMOTIONS, where, clip)
    problems += found
    aus, found = au_codes(cells[cols["Action Units"]], where, clip)
    problems += found
    if triplet is None or emotion is None:
        return None, problems
    onset, apex, offset = triplet
    return {"dataset": NAME, "subject": subject, "clip_id": clip, "clip_name": clip_name, "kind": "micro", "fps": FPS,
            "onset": onset, "apex": apex, "offset": offset, "emotion": emotion, "aus": aus, "fold": None, "source": where}, problems


def scan(root: Path, label_file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Index of the MMEW micro-expression clips and every problem found in the sheet and folders.

    Args:
        root: the release folder (``MMEW_Final``) or the folder holding it.
        label_file: name of the label file to read when several versions lie there (default: the newest by name).
    """
    root = require_root(root, "MMEW")
    path, problems = choose_label_file(root, label_file)
    micro = micro_dir(root, path)
    if micro is None:
        raise DataError(f"MMEW at {root}: no {MICRO_DIR} folder beside {path.name}, in the root or one folder down (datasets.md §8)")
    table = read_table(path, COLUMNS)
    cols = {name: column(table, name) for name in COLUMNS}
    folders = clip_folders(micro)
    rows, used, seen = [], set(), {}
    for _, cells in table.iterrows():
        where = f"{path.name} row {cells[EXCEL_ROW]}"
        row, found = parse_row(cells, cols, where)
        problems += found
        if row is None:
            continue
        if row["clip_id"] in seen:
            problems.append(Problem("fatal", where, row["clip_id"], f"the same Subject/Filename as {seen[row['clip_id']]}; remove one of the rows"))
            continue
        seen[row["clip_id"]] = where
        folder, found = _pick_folder(folders.get(row["clip_name"].lower(), []), row, micro, where)
        problems += found
        if folder is not None:
            used.add(folder.path)
            rows.append({**row, "frames_dir": str(folder.path.absolute())})
    problems += _layout_notes(folders, used, micro)
    if not rows:
        fatal = [p.message for p in problems if p.severity == "fatal"]
        raise DataError(f"MMEW at {root}: no usable clip in {path.name} ({len(fatal)} fatal problem(s), e.g. {fatal[:3]})")
    index = pd.DataFrame(rows).drop(columns="clip_name")
    return validate_index(index, source=f"MMEW at {root}"), problems


def _layout_notes(folders: dict[str, list[ClipFolder]], used: set[Path], micro: Path) -> list[Problem]:
    """Warnings for a flattened emotion level and for clip folders that no sheet row names."""
    notes = []
    flat = [c for cs in folders.values() for c in cs if c.emotion is None and c.path in used]
    if flat:
        notes.append(Problem("warning", str(micro), "", f"{len(flat)} clip folder(s) sit directly in {micro.name}/ ({flat[0].path.name}, ...), "
                                                      f"not in {micro.name}/<emotion>/; a variant some copies have (datasets.md §8)"))
    unused = sorted(str(c.path.relative_to(micro)) for cs in folders.values() for c in cs if c.path not in used)
    if unused:
        notes.append(Problem("warning", str(micro), "", f"{len(unused)} clip folder(s) that no label row names are not indexed: "
                                                      f"{unused[:8]}{' ...' if len(unused) > 8 else ''}"))
    return notes


_NEGATIVE = ("anger", "disgust", "fear", "sadness")


def _scheme(classes: tuple[str, ...], mapping: dict[str, str], source: str) -> LabelScheme:
    return LabelScheme(classes, {e: mapping.get(e) for e in EMOTIONS}, source)


SCHEMES = {
    "own": LabelScheme.identity(EMOTIONS, "MMEW release labels, 'Estimated Emotion' (Ben et al., TPAMI 2021; datasets.md §8)"),
    "4class": _scheme(("happiness", "surprise", "disgust", "others"), {e: e for e in ("happiness", "surprise", "disgust", "others")},
                      "merlib MMEW_info.get_labels(4): the four largest classes, anger/fear/sadness omitted (loader code; datasets.md gives no MMEW subset)"),
    "6class": _scheme(EMOTIONS[:-1], {e: e for e in EMOTIONS[:-1]},
                      "basic emotions only, 'others' omitted, as several public MMEW loaders do (loader code; datasets.md gives no MMEW subset)"),
    "megc2019": _scheme(("negative", "positive", "surprise"), {**dict.fromkeys(_NEGATIVE, "negative"), "happiness": "positive", "surprise": "surprise"},
                        "MEGC2019 guideline classes (datasets.md §9): anger/disgust/fear/sadness -> negative, happiness -> positive; others omitted"),
}

SPEC = register(DatasetSpec(
    name=NAME,
    title="MMEW (Ben et al. 2021): 300 RGB micro-expression clips of 36 subjects, 90 fps, frames numbered 1.. within each clip",
    scan=scan,
    schemes=SCHEMES,
    default_scheme="own",
    modalities={"rgb": Modality("frames_dir", color="rgb"), "gray": Modality("frames_dir", color="gray")},
    default_modality="rgb",
    writer=NAME,
    folds="none in the release: subject-independent folds are built by the protocol",
))
