"""CASME II (Yan et al. 2014, PLoS ONE 9(1) e86041): spontaneous micro-expressions, 200 fps colour.

Layout of a release (datasets.md §1; folder names are matched without regard to case)::

    <root>/CASME2-coding-20190701.xlsx              # or CASME2-coding-20140508.xlsx (older release)
    <root>/Cropped/sub01/EP02_01f/reg_img46.jpg      # face-cropped frames (``frames="cropped"``, default)
    <root>/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg  # 640x480 raw frames (``frames="raw"``)

The coding sheet's ``Subject`` is the text ``"01"``..``"26"`` and the subject folder is
``sub01``..``sub26``; frame numbers in the sheet are the numbers in the file names (absolute,
unpadded), so a clip's files run from ``OnsetFrame`` to ``OffsetFrame``. Index conventions:

* ``subject`` as the sheet writes it (``"01"``), ``clip_id`` = ``"sub01/EP02_01f"`` (the clip's
  folder below the frame tree, and the subject/file pair of the MEGC2019 ground truth, §9);
* ``emotion`` = ``Estimated Emotion`` (already lower case in both releases);
* ``objective_class`` = the 2019 file's ``Objective Classes`` (1..7 = Davison et al. 2018's
  classes I..VII), ``None`` where the file has no such column (the 2014 release).

The two releases differ (§1): three sub24 clips are ``sadness`` in 2014 and ``surprise`` in 2019,
57 rows have different AUs, the 2019 file has apex ``/`` for sub04 EP12_01f, and only the 2019
file has ``Objective Classes``. ``coding`` picks the release; both present -> the 2019 one, with a
warning naming both files.

There is no ``objective`` label scheme: a :class:`LabelScheme` maps the ``emotion`` column, and the
objective class is not a function of the emotion (2019 file: disgust clips are in classes I, III,
IV and VII, others in I, III and VII), so the class is kept in ``objective_class`` only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.problems import Problem
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root

NAME = "casme2"
FPS = 200.0  # datasets.md §1 (merlib CASME2_info.fps, the MEGC2019 guideline)
EMOTIONS: tuple[str, ...] = ("happiness", "disgust", "surprise", "repression", "fear", "sadness", "others")

# Release -> the file name the release ships with. Copies in circulation add a suffix
# ("CASME2-coding-20140508-edited-copy.xlsx"), so a name is matched by its release date.
CODING_FILES: dict[str, str] = {"2019": "CASME2-coding-20190701.xlsx", "2014": "CASME2-coding-20140508.xlsx"}
_RELEASE_DATE = {"2019": "20190701", "2014": "20140508"}
_CODING_NAME = re.compile(r"^casme2[-_ ]coding[-_ ](?P<date>\d{8})(?!\d).*\.xlsx?$", re.IGNORECASE)
# Frame trees by ``frames`` option, in order of preference (datasets.md §1: some copies nest
# the cropped frames as Cropped-updated/Cropped; CASME2_RAW holds the same numbering in full clips).
FRAME_TREES: dict[str, tuple[str, ...]] = {
    "cropped": ("Cropped", "Cropped-updated/Cropped"),
    "raw": ("CASME2_RAW_selected", "CASME2_RAW"),
}
REQUIRED = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion")
OBJECTIVE = "Objective Classes"
INDEX_COLUMNS = ("dataset", "subject", "clip_id", "kind", "fps", "onset", "apex", "offset", "emotion", "aus", "fold",
                 "objective_class", "source", "frames_dir")


def scan(root: Path, *, coding: str | None = None, frames: str = "cropped") -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CASME II copy into the Index.

    Args:
        root: the folder holding the coding spreadsheet and the frame tree(s).
        coding: ``"2019"`` (``CASME2-coding-20190701.xlsx``) or ``"2014"``
            (``CASME2-coding-20140508.xlsx``); None -> the 2019 file if present, else the 2014 one.
        frames: ``"cropped"`` (the face-cropped ``Cropped/`` tree most published results use, and
            the one the CASME II baseline was computed on) or ``"raw"`` (``CASME2_RAW_selected/``).

    Returns:
        The Index (one row per usable coding row, ``frames_dir`` = the clip's folder) and the
        problems found; unusable rows are fatal problems and not in the Index.

    Raises:
        DataError: an unknown option value, no coding file, or no frame tree of the chosen kind.
    """
    root = require_root(root, NAME)
    if coding is not None and str(coding) not in CODING_FILES:
        raise DataError(f"{NAME}: unknown coding release {coding!r}; expected one of {sorted(CODING_FILES)} (dataset.params.coding)")
    if frames not in FRAME_TREES:
        raise DataError(f"{NAME}: unknown frames {frames!r}; expected one of {sorted(FRAME_TREES)} (dataset.params.frames)")
    path, release, problems = find_coding_file(root, None if coding is None else str(coding))
    tree = find_frame_tree(root, frames)
    rows, row_problems = read_coding(path, tree, expect_objective=release == "2019")
    problems += row_problems
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    # int or None per clip (None where the file has no class), not a float column with NaN
    index["objective_class"] = pd.Series([r["objective_class"] for r in rows], dtype=object)
    return index, problems


def _coding_candidates(root: Path) -> dict[str, list[Path]]:
    """Release -> the coding files of that release in ``root`` (the exact release name first)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        match = _CODING_NAME.match(path.name)
        if path.is_file() and not path.name.startswith(".") and match:
            for release, date in _RELEASE_DATE.items():
                if match.group("date") == date:
                    found.setdefault(release, []).append(path)
    for release, paths in found.items():
        paths.sort(key=lambda p: (p.name.lower() != CODING_FILES[release].lower(), p.name))
    return found


def find_coding_file(root: Path, coding: str | None) -> tuple[Path, str, list[Problem]]:
    """The coding spreadsheet to read, its release (``"2019"``/``"2014"``) and warnings naming the files passed over."""
    found = _coding_candidates(root)
    if coding is None:
        release = "2019" if "2019" in found else "2014" if "2014" in found else None
    else:
        release = coding if coding in found else None
    if release is None:
        wanted = [CODING_FILES[coding]] if coding else list(CODING_FILES.values())
        others = sorted(p.name for p in root.iterdir() if p.suffix.lower() in (".xlsx", ".xls", ".csv"))
        present = f"; found {others}" if others else "; it holds no spreadsheet"
        hint = f" (set dataset.params.coding to {sorted(found)} to use the file present)" if found else ""
        raise DataError(f"{NAME}: no CASME II coding file {' or '.join(wanted)} in {root}{present}{hint}")
    path, problems = found[release][0], []
    for other in found[release][1:]:
        problems.append(Problem("warning", other.name, "", f"second copy of the {release} coding file; using {path.name}, ignoring {other.name}"))
    if path.name.lower() != CODING_FILES[release].lower():
        # datasets.md §1: circulating copies are edited (one drops the blank columns and fills sub04 EP12_01f's apex)
        problems.append(Problem("warning", path.name, "", f"not the release's file name {CODING_FILES[release]}: read as the {release} coding, "
                                "but copies under other names may have been edited"))
    if coding is None and release == "2019" and "2014" in found:
        problems.append(Problem("warning", path.name, "", f"both {path.name} and {found['2014'][0].name} are present; using {path.name} "
                                "(the newer release; set dataset.params.coding='2014' for the other, datasets.md §1)"))
    return path, release, problems


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched without regard to case (copies differ in case; Linux does not forgive it)."""
    exact = folder / name
    if exact.is_dir():
        return exact
    if not folder.is_dir():
        return None
    for entry in folder.iterdir():
        if entry.name.lower() == name.lower() and entry.is_dir():
            return entry
    return None


def find_frame_tree(root: Path, frames: str) -> Path:
    """The frame tree for ``frames`` (first of :data:`FRAME_TREES` present), or a DataError naming the other kind when only it exists."""
    for relative in FRAME_TREES[frames]:
        folder: Path | None = root
        for part in relative.split("/"):
            folder = _child(folder, part) if folder is not None else None
        if folder is not None:
            return folder
    others = [name for kind, names in FRAME_TREES.items() if kind != frames for name in names if _child(root, name.split("/")[0])]
    hint = f"; found {others}: set dataset.params.frames to the other kind" if others else ""
    raise DataError(f"{NAME}: no {frames} frame folder {' or '.join(FRAME_TREES[frames])} in {root}{hint}")


def _subject_id(cell: str, where: str, clip_hint: str) -> tuple[str | None, list[Problem]]:
    """The two-digit subject id; a copy saved with numeric cells writes ``1`` for ``01`` (datasets.md §0.3)."""
    match = re.fullmatch(r"(?:sub)?0*(\d+)", cell, re.IGNORECASE)
    if not cell:
        return None, [Problem("fatal", where, clip_hint, "no Subject in this row; fill the cell (CASME II writes '01'..'26')")]
    if match is None:
        return None, [Problem("fatal", where, clip_hint, f"Subject {cell!r} is not a CASME II subject number ('01'..'26')")]
    subject = f"{int(match.group(1)):02d}"
    if subject != cell:
        return subject, [Problem("warning", where, clip_hint, f"Subject {cell!r} read as {subject!r} (folder sub{subject}); the release writes "
                                 "two-digit text, so this copy was re-saved with numeric or renamed cells")]
    return subject, []


def _objective_class(cell: str, where: str, clip: str) -> tuple[int | None, list[Problem]]:
    text = cell.strip()
    if text.endswith(".0"):  # a number cell read back as text by some copies
        text = text[:-2]
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text), []
    shown = repr(cell) if cell else "empty"
    return None, [Problem("warning", where, clip, f"Objective Classes {shown} is not a class 1..7 (Davison et al. 2018 I..VII); left unset")]


def read_coding(path: Path, tree: Path, *, expect_objective: bool) -> tuple[list[dict], list[Problem]]:
    """Index rows of the coding file ``path`` whose clip folders are in ``tree``, and the problems.

    ``expect_objective``: the file's release has an ``Objective Classes`` column (a warning if not).
    """
    table = read_table(path, REQUIRED)
    cols = {name: column(table, name) for name in REQUIRED}
    try:
        objective: str | None = column(table, OBJECTIVE)
    except DataError:
        objective = None
    problems: list[Problem] = []
    if objective is None and expect_objective:
        problems.append(Problem("warning", path.name, "", f"no '{OBJECTIVE}' column (the 2019 release has one); objective_class left unset"))
    subjects = {entry.name.lower(): entry for entry in tree.iterdir() if entry.is_dir()}
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        filename = rec[cols["Filename"]]
        subject, found = _subject_id(rec[cols["Subject"]], where, filename)
        problems += found
        if subject is None:
            continue
        clip = f"sub{subject}/{filename}"
        if not filename:
            problems.append(Problem("fatal", where, clip, "no Filename in this row; fill the cell (the clip folder name, e.g. EP02_01f)"))
            continue
        if clip in seen:
            problems.append(Problem("fatal", where, clip, f"subject {subject} and Filename {filename} are already used by row {seen[clip]}; "
                                    "keep one of the two rows"))
            continue
        seen[clip] = rec[EXCEL_ROW]
        emotion, found = emotion_label(rec[cols["Estimated Emotion"]], EMOTIONS, where, clip)
        problems += found
        triplet, found = frame_triplet(rec[cols["OnsetFrame"]], rec[cols["ApexFrame"]], rec[cols["OffsetFrame"]], where, clip)
        problems += found
        aus, found = au_codes(rec[cols["Action Units"]], where, clip)
        problems += found
        if not rec[cols["Action Units"]]:
            problems.append(Problem("warning", where, clip, "no Action Units coded in this row; the clip has no AUs"))
        objective_class = None
        if objective is not None:
            objective_class, found = _objective_class(rec[objective], where, clip)
            problems += found
        folder, found = _clip_folder(subjects, tree, subject, filename, where, clip)
        problems += found
        if emotion is None or triplet is None or folder is None:
            continue
        onset, apex, offset = triplet
        rows.append({"dataset": NAME, "subject": subject, "clip_id": clip, "kind": "micro", "fps": FPS, "onset": onset, "apex": apex,
                     "offset": offset, "emotion": emotion, "aus": aus, "fold": None, "objective_class": objective_class, "source": where,
                     "frames_dir": str(folder.resolve())})
    return rows, problems


def _clip_folder(subjects: dict[str, Path], tree: Path, subject: str, filename: str, where: str, clip: str) -> tuple[Path | None, list[Problem]]:
    folder = subjects.get(f"sub{subject}")
    if folder is None:
        return None, [Problem("fatal", where, clip, f"subject folder sub{subject} is missing in {tree}; restore it or remove the subject's rows")]
    found = _child(folder, filename)
    if found is None:
        return None, [Problem("fatal", where, clip, f"no clip folder {filename} in {folder}; restore the folder or remove the row")]
    return found, []


def _schemes() -> dict[str, LabelScheme]:
    own = LabelScheme.identity(EMOTIONS, "Yan et al. 2014 (CASME II, PLoS ONE 9(1) e86041): the coding file's 'Estimated Emotion' classes, "
                               "the same seven in the 2014 and 2019 releases (datasets.md §1)")
    five_classes = ("happiness", "disgust", "surprise", "repression", "others")
    # The published 5-class set (Hap 33, Sur 25, Dis 60, Rep 27, Oth 102 = 247 clips: 4DME Table 1, DFME
    # Table I) leaves fear (2) and sadness (7) out rather than folding them into others: MoExt §4.1
    # lists them beside the five (Fear (2), Sadness (7)), and 247 + 9 = 256, the seven-class total.
    five = LabelScheme(five_classes, {**{c: c for c in five_classes}, "fear": None, "sadness": None},
                       "Yan et al. 2014 CASME II baseline, 5 classes; fear and sadness omitted (too few clips), as in "
                       "4DME Table 1 / DFME Table I / MoExt §4.1 (datasets.md §1)")
    # MEGC2019 guideline: negative = repression, anger, contempt, disgust, fear, sadness; positive =
    # happiness; surprise = surprise; others omitted. Its CASME II ground truth holds no fear or
    # sadness clip (negative 88 = disgust 61 + repression 27, datasets.md §9), so they are omitted
    # here too. The composite uses the 2014 labels (coding="2014") and also leaves out two disgust
    # clips (sub04 EP12_01f, sub05 EP09_05f): its ground-truth CSV stays the source of truth.
    megc = LabelScheme(("negative", "positive", "surprise"),
                       {"disgust": "negative", "repression": "negative", "happiness": "positive", "surprise": "surprise",
                        "fear": None, "sadness": None, "others": None},
                       "MEGC2019 recognition challenge guideline and its combined_3class_gt.csv (CASME II part: fear, sadness and "
                       "others not included), datasets.md §9")
    return {"own": own, "five": five, "megc2019": megc}


SPEC = register(DatasetSpec(
    name=NAME,
    title="CASME II: 26 subjects, 255 micro-expression clips, 200 fps colour (coding 20190701 or 20140508)",
    scan=scan,
    schemes=_schemes(),
    default_scheme="five",
    modalities={"rgb": Modality("frames_dir", color="rgb"), "gray": Modality("frames_dir", color="gray")},
    default_modality="rgb",
    writer=NAME,
))
