"""DFME (Zhao et al., "More is better: a database for spontaneous micro-expression with high frame
rates", arXiv 2301.00985): 7 emotions, three parts filmed at 500, 300 and 200 fps.

Layout of the release (datasets.md §7; folder names matched without regard to case)::

    <root>/full_release_annotation/training_full_with_AU.xlsx   # Sheet1: Subject | Filename | OnsetFrame |
    <root>/full_release_annotation/testA_full_with_AU.xlsx      #   ApexFrame | OffsetFrame | Emotion |
    <root>/full_release_annotation/testB_full_with_AU.xlsx      #   EmotionId | Fps | AU
    <root>/train_data/train_data/sub0003_01/00109.png           # {Filename}/{frame:05d}.png
    <root>/test_data_A/test_data_A/...   <root>/test_data_B/test_data_B/...

The frame folders are doubled in the copies we know of (an archive unpacked into a folder of its
own name); a single level (``train_data/sub0003_01``) is accepted too. The sheets may also lie
directly in ``<root>``. Index conventions:

* ``subject`` as the sheet writes it (``sub0003``), ``clip_id`` = ``Filename`` (unique across the
  three sheets in the release; a repeat is fatal);
* frame numbers are 0-based *within the clip* (``OnsetFrame`` 0 is common) and equal the file
  numbers, so a clip's files run from onset to offset in its own folder;
* ``fps`` from ``Fps``, which also names the part (500 = A, 300 = B, 200 = C, column ``part``);
  another value is fatal, a subject filmed at two rates a warning;
* ``emotion`` from ``Emotion``, checked against ``EmotionId``, a fixed mapping (anger 0, contempt 1,
  disgust 2, fear 3, happiness 4, sadness 5, surprise 6): a row where they disagree is fatal, since
  either may be the typo;
* ``fold`` = ``train``, ``testA`` or ``testB``: the official split (protocol ``split_column`` with
  ``train_only: [train]``); the paper's own results use 10-fold cross-validation over all clips.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.problems import Problem
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root

NAME = "dfme"
EMOTIONS: tuple[str, ...] = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
EMOTION_IDS: dict[str, int] = {emotion: i for i, emotion in enumerate(EMOTIONS)}  # datasets.md §7: fixed
PARTS: dict[int, str] = {500: "A", 300: "B", 200: "C"}
ANNOTATION_FOLDER = "full_release_annotation"
# sheet key (the Index fold value) -> (label file, frame folder of the release)
SHEETS: dict[str, tuple[str, str]] = {
    "train": ("training_full_with_AU.xlsx", "train_data"),
    "testA": ("testA_full_with_AU.xlsx", "test_data_A"),
    "testB": ("testB_full_with_AU.xlsx", "test_data_B"),
}
REQUIRED = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU")
INDEX_COLUMNS = ("dataset", "subject", "clip_id", "kind", "fps", "part", "onset", "apex", "offset", "emotion", "aus", "fold", "source", "frames_dir")


def scan(root: Path, *, sheets: list[str] | tuple[str, ...] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a DFME copy into the Index.

    Args:
        root: the folder holding ``full_release_annotation/`` (or the three sheets) and the frame folders.
        sheets: which of ``train``, ``testA``, ``testB`` to read; None -> all three.

    Returns:
        The Index (one row per usable sheet row; ``frames_dir`` = the clip's folder) and the problems.

    Raises:
        DataError: an unknown sheet name, or a chosen sheet / frame folder that is not there.
    """
    root = require_root(root, NAME)
    chosen = list(SHEETS) if sheets is None else [str(s) for s in ([sheets] if isinstance(sheets, str) else sheets)]
    unknown = [s for s in chosen if s not in SHEETS]
    if unknown or not chosen:
        raise DataError(f"{NAME}: unknown sheet(s) {unknown or chosen}; dataset.params.sheets takes a list of {list(SHEETS)}")
    rows: list[dict] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for key in chosen:
        path = find_sheet(root, key)
        folder = find_frame_folder(root, key)
        found_rows, found = read_sheet(path, folder, key, seen)
        rows += found_rows
        problems += found
    problems += _mixed_rates(rows)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), problems


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` (a file or folder) matched without regard to case."""
    exact = folder / name
    if exact.exists():
        return exact
    if not folder.is_dir():
        return None
    return next((entry for entry in sorted(folder.iterdir()) if entry.name.lower() == name.lower()), None)


def find_sheet(root: Path, key: str) -> Path:
    name = SHEETS[key][0]
    for folder in (_child(root, ANNOTATION_FOLDER), root):
        found = _child(folder, name) if folder is not None else None
        if found is not None and found.is_file():
            return found
    raise DataError(f"{NAME}: no label sheet {name} in {root / ANNOTATION_FOLDER} or {root}; restore it, "
                    f"or read fewer sheets with dataset.params.sheets (e.g. [train])")


def find_frame_folder(root: Path, key: str) -> Path:
    """``<frames>/<frames>`` as the release unpacks, else ``<frames>``."""
    name = SHEETS[key][1]
    outer = _child(root, name)
    if outer is None or not outer.is_dir():
        raise DataError(f"{NAME}: no frame folder {name}/ in {root} for the {SHEETS[key][0]} clips; restore it, "
                        f"or read fewer sheets with dataset.params.sheets")
    inner = _child(outer, name)
    return inner if inner is not None and inner.is_dir() else outer


def _int_cell(cell: str) -> int | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return int(value) if value == int(value) else None


def read_sheet(path: Path, folder: Path, key: str, seen: dict[str, str]) -> tuple[list[dict], list[Problem]]:
    """Index rows of one sheet whose clip folders are in ``folder``; ``seen`` maps clip ids already read to their row."""
    table = read_table(path, REQUIRED)
    cols = {name: column(table, name) for name in REQUIRED}
    clips = {entry.name.lower(): entry for entry in folder.iterdir() if entry.is_dir()}
    rows: list[dict] = []
    problems: list[Problem] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        subject, clip = rec[cols["Subject"]].strip(), rec[cols["Filename"]].strip()
        if not subject or not clip:
            problems.append(Problem("fatal", where, clip, f"no {'Subject' if not subject else 'Filename'} in this row; fill the cell (e.g. sub0003, sub0003_01)"))
            continue
        if clip in seen:
            problems.append(Problem("fatal", where, clip, f"Filename {clip} is already used by {seen[clip]}; keep one of the two rows"))
            continue
        seen[clip] = where
        emotion, found = emotion_label(rec[cols["Emotion"]], EMOTIONS, where, clip)
        problems += found
        if emotion is not None:
            emotion_id = _int_cell(rec[cols["EmotionId"]])
            if emotion_id != EMOTION_IDS[emotion]:
                problems.append(Problem("fatal", where, clip, f"Emotion {emotion!r} has EmotionId {EMOTION_IDS[emotion]} in DFME's fixed mapping, but the row says "
                                        f"{rec[cols['EmotionId']]!r}; correct whichever of the two cells is wrong ({EMOTION_IDS})"))
                emotion = None
        fps = _int_cell(rec[cols["Fps"]])
        if fps not in PARTS:
            problems.append(Problem("fatal", where, clip, f"Fps {rec[cols['Fps']]!r} is not a DFME frame rate (500 = Part A, 300 = Part B, 200 = Part C)"))
        triplet, found = frame_triplet(rec[cols["OnsetFrame"]], rec[cols["ApexFrame"]], rec[cols["OffsetFrame"]], where, clip)
        problems += found
        aus, found = au_codes(rec[cols["AU"]], where, clip)
        problems += found
        clip_dir = clips.get(clip.lower())
        if clip_dir is None:
            problems.append(Problem("fatal", where, clip, f"no clip folder {clip} in {folder}; restore the folder or remove the row"))
        if emotion is None or triplet is None or fps not in PARTS or clip_dir is None:
            continue
        onset, apex, offset = triplet
        rows.append({"dataset": NAME, "subject": subject, "clip_id": clip, "kind": "micro", "fps": float(fps), "part": PARTS[fps],
                     "onset": onset, "apex": apex, "offset": offset, "emotion": emotion, "aus": aus, "fold": key, "source": where,
                     "frames_dir": str(clip_dir.resolve())})
    return rows, problems


def _mixed_rates(rows: list[dict]) -> list[Problem]:
    """A warning per subject filmed at more than one rate (datasets.md §7: the rate is constant per subject)."""
    rates: dict[str, set[float]] = {}
    for row in rows:
        rates.setdefault(row["subject"], set()).add(row["fps"])
    return [Problem("warning", NAME, subject, f"subject {subject} has clips at {sorted(map(int, fps))} fps; a DFME subject belongs to one part, "
                    "check the Fps cells") for subject, fps in sorted(rates.items()) if len(fps) > 1]


def _schemes() -> dict[str, LabelScheme]:
    own = LabelScheme.identity(EMOTIONS, "DFME release sheets (datasets.md §7): the seven Emotion classes of the paper's experiments")
    grouped = LabelScheme(("negative", "positive", "surprise"),
                          {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative", "sadness": "negative",
                           "happiness": "positive", "surprise": "surprise"},
                          "MEGC2019-style 3-class grouping applied to DFME's emotions (ours: not an official DFME scheme)")
    return {"own": own, "megc2019": grouped}


SPEC = register(DatasetSpec(
    name=NAME,
    title="DFME: 7 emotions at 500 / 300 / 200 fps (Parts A / B / C); release sheets training, Test A, Test B",
    scan=scan,
    schemes=_schemes(),
    default_scheme="own",
    modalities={"rgb": Modality("frames_dir", color="rgb"), "gray": Modality("frames_dir", color="gray")},
    default_modality="rgb",
    writer=NAME,
))
