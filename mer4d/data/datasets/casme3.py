"""CAS(ME)^3 (Li et al. 2022, IEEE TPAMI, doi 10.1109/TPAMI.2022.3174895): micro-expressions at 30 fps, RGB-D.

Two labelled parts are read (``part`` option); Part B is unlabelled. Layout of a copy
(datasets.md §5; folder and file names are matched without regard to case)::

    <root>/annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   # sheet 'label' (v1: .xls)
    <root>/annotation/partA/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx  # macro-expressions (optional; unverified format)
    <root>/part_A/data/part_A_split/part_A/spNO.1/a/color/355.jpg        # RGB, absolute 1-based numbers
    <root>/part_A/data/part_A_split/part_A/spNO.1/a/depth/355.png        # 16-bit depth, pixel-aligned
    <root>/annotation/partC/CAS(ME)3_part_C_ME.xlsx                      # sheet 'mockCrimeME'
    <root>/ME_C/01/1/color/373.jpg                                       # Part C: meb's extraction layout

The label file may also sit in the root, in ``annotation/`` or under ``part_A/``; the Part A frame
tree may also be given as ``data/part_A_split/part_A``, ``part_A_split/part_A`` or ``part_A`` below
the root, or the root itself. The per-ME clip distribution ``Part_A_ME_clip/{frame,depth}/
{Subject}_{Filename}_{Onset}/`` (datasets.md §5, [CODE]) is read when no full tree is present.

Part A: one Index row per sheet row; a (Subject, Filename) video holds several MEs (191 pairs do),
so ``clip_id`` = ``"{Subject}/{Filename}/{Onset}"`` (``"spNO.1/a/355"``, the official sample name
``{Subject}_{Filename}_{Onset}`` with slashes). ``subject`` is the sheet's ``spNO.{n}``,
``emotion`` the lower-cased ``emotion`` cell (seven classes), ``objective_class`` the ``Objective
class`` roman numeral I..VII as 1..7 (Davison et al. 2018, the numbering CASME II uses), ``frames_dir``
the clip's ``color`` folder and ``depth_dir`` its ``depth`` folder (None where a copy has none).

Part A macro-expressions (MoExt pre-trains on them): when the copy has the MaE sheet, its rows
are read by :mod:`casme3_macro` (``kind="macro"``, ``clip_id`` ``"{Subject}/{seq}/{Onset}_macro"``,
frames from the same video folders; **format unverified**, no real copy was available). Without it
the Index holds micro rows only, and ``dataset.kind: macro | all`` is an error naming the file.

Part C: ``subject`` is the sheet's ``sub`` as written (``"1"``; folder ``01``), ``clip_id`` =
``"{sub}/{count}"``; there is no apex column, so the apex is the middle frame; the emotions are
already pooled (negative, positive, surprise, others); there is no objective class. No public
layout of Part C frames exists (datasets.md §11): the one read is meb's extraction
``ME_C/{sub:02d}/{count}/color/`` [INF], and ``depth_dir`` is a sibling ``depth`` folder when a
copy has one, else None (no known Part C copy has depth, so the depth modality is Part A's).

Known rows of the v2 Part A sheet (datasets.md §5), each a problem naming its row:

* spNO.216 e: onset = apex = 0 while the frames start at ``1.jpg``; read as 1, the fix of the
  release's exception list (``casme3_partA_error_list_ZhouJu.xlsx``: "Onset, Apex +1");
* spNO.149 d (apex 83 before onset 112): apex set to the middle frame (§0.5);
* spNO.216 d (onset 3647 after offset 2694) and spNO.40 e (two rows with offset 0): unusable,
  fatal; the release gives no corrected numbers (meb's guesses 2647, 1845, 2403 are not applied);
* one ``Filename`` ``J`` (spNO.14) among lower-case letters, three ``Others`` among ``others``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets import casme3_macro, casme3_schemes
from mer4d.data.datasets.casme3_layout import (
    LABEL_DIRS,
    NAME,
    Folders,
    FrameTree,
    child,
    clip_folder_clips,
    clip_folder_full,
    depth_problems,
    descend,
    find_frames_a,
    find_frames_c,
    index_row,
    listing,
    one_based,
    span_problems,
    whole_text,
)
from mer4d.data.problems import Problem
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table
from mer4d.data.spec import DatasetSpec, Modality, register, require_root

PARTS: tuple[str, ...] = ("A", "C")
EMOTIONS: dict[str, tuple[str, ...]] = {
    "A": ("happy", "disgust", "fear", "anger", "surprise", "sad", "others"),
    "C": ("negative", "positive", "surprise", "others"),
}
# The release's file names (datasets.md §5). Copies add versions and dates
# ("..._JpgIndex_v2_20250903.xlsx", a Kaggle copy, idx:59408382908); v1 is an .xls.
LABEL_FILES: dict[str, str] = {"A": "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "C": "CAS(ME)3_part_C_ME.xlsx"}
_LABEL_NAME: dict[str, re.Pattern[str]] = {
    part: re.compile(rf"^cas\(me\)3_{stem}(?:_v(?P<version>\d+))?(?:_(?P<date>\d{{8}}))?\.xlsx?$", re.IGNORECASE)
    for part, stem in (("A", r"part_A_ME_label_JpgIndex"), ("C", r"part_C_ME"))
}
# The full annotation files hold every expression but no emotion column: named in the error when
# only they are present, so a user knows which file is missing.
_FULL_FILES = {"A": re.compile(r"^cas\(me\)3_part_A_v\d+\.xlsx?$", re.IGNORECASE), "C": re.compile(r"^cas\(me\)3_part_C\.xlsx?$", re.IGNORECASE)}
SHEETS = {"A": "label", "C": "mockCrimeME"}
REQUIRED = {
    "A": ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion"),
    "C": ("sub", "count", "onset", "offset", "au", "emotion"),
}
OBJECTIVE = "Objective class"
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}
# A span this long is no micro-expression; the v2 sheet has four (spNO.214 c: 3456 frames, 115 s).
INDEX_COLUMNS = ("dataset", "subject", "clip_id", "kind", "fps", "onset", "apex", "offset", "emotion", "aus", "fold",
                 "objective_class", "source", "frames_dir", "depth_dir")
_SEPARATOR = r"[+,\uff0c]"


def scan(root: Path, *, part: str = "A") -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CAS(ME)^3 copy into the Index.

    Args:
        root: the folder holding the part's label file and frame tree (see the module docstring).
        part: ``"A"`` (860 MEs of 94 subjects in the v2 sheet, RGB + depth) or ``"C"`` (the mock
            crime part, 165 MEs of 30 subjects).

    Returns:
        The Index (Part A: the ME sheet's micro rows, then the MaE sheet's macro rows when the copy has
        it, :mod:`casme3_macro`) and the problems found; unusable rows are fatal problems and not in
        the Index. Without a MaE sheet, ``index.attrs["absent_kinds"]["macro"]`` says which file is missing.

    Raises:
        DataError: an unknown ``part``, no label file of the part, or no frame tree.
    """
    root = require_root(root, NAME)
    key = str(part).strip().upper()
    if key not in PARTS:
        raise DataError(f"{NAME}: unknown part {part!r}; expected one of {list(PARTS)} (dataset.params.part)")
    path, problems = find_label_file(root, key)
    table = read_sheet(path, key)
    macro: Path | None = None
    if key == "A":
        tree = find_frames_a(root)
        rows, found = _read_part_a(table, path, tree)
        macro_rows, macro_found, macro = casme3_macro.read_macro(root, tree, EMOTIONS["A"])
        rows, found = rows + macro_rows, found + macro_found
    else:
        rows, found = _read_part_c(table, path, find_frames_c(root))
    problems += found
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    # int-or-None / str-or-None per clip, not float columns holding NaN
    for name in ("objective_class", "depth_dir"):
        index[name] = pd.Series([r[name] for r in rows], dtype=object)
    if key == "A" and macro is None:  # dataset.kind: macro | all names the missing sheet (mer4d.pipeline.build.select_kind)
        index.attrs["absent_kinds"] = {"macro": casme3_macro.missing_message(root)}
    return index, problems


# ---------------------------------------------------------------- label files


def _version(path: Path, part: str) -> tuple[int, str]:
    match = _LABEL_NAME[part].match(path.name)
    if match is None:  # only names that matched are passed in
        raise ValueError(f"{path.name} is not a Part {part} label file name")
    return int(match.group("version") or 1), match.group("date") or ""


def find_label_file(root: Path, part: str) -> tuple[Path, list[Problem]]:
    """The part's ME label file (newest version, see :data:`LABEL_FILES`) and warnings naming the others."""
    files = [p for d in LABEL_DIRS[part] if (folder := descend(root, d)) for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".")]
    found = [p for p in files if _LABEL_NAME[part].match(p.name)]
    if not found:
        places = ", ".join(f"{root}/{d}" if d else str(root) for d in LABEL_DIRS[part])
        full = [p.name for p in files if _FULL_FILES[part].match(p.name)]
        hint = f"; {full[0]} is there, but it holds every expression and no emotion column: the ME label file is needed" if full else ""
        raise DataError(f"{NAME}: no Part {part} ME label file {LABEL_FILES[part]} (or another version of it) in {places}{hint}")
    # newest version (then date) first; the same version in two places -> the first place in LABEL_DIRS (stable sort)
    found.sort(key=lambda p: (-_version(p, part)[0], _newest_first(_version(p, part)[1])))
    path, problems = found[0], []
    for other in found[1:]:
        same = _version(other, part) == _version(path, part)
        what = "a second copy of the same version" if same else "an older version"
        problems.append(Problem("warning", other.name, "", f"{what} of the Part {part} label file ({other}); using {path.name} ({path}), "
                                f"ignoring {other.name} (datasets.md §5: annotation files have versions)"))
    version = _version(path, part)[0]
    if part == "A" and version < 2:
        problems.append(Problem("warning", path.name, "", f"{path.name} is version {version}: its rows differ from v2 (921 v1 rows vs 860; "
                                "CAS(ME)3_part_A_wrongly_labeled_me_in_V1.xlsx lists the corrections); use "
                                f"{LABEL_FILES['A']} when you have it"))
    return path, problems


def _newest_first(date: str) -> str:
    """A sort key ordering ``YYYYMMDD`` dates newest first, an undated file after the dated ones of its version."""
    return "".join(chr(ord("9") - ord(c) + ord("0")) for c in date) if date else "~"


def read_sheet(path: Path, part: str) -> pd.DataFrame:
    """The label rows of ``path``: the part's sheet (``label``/``mockCrimeME``) when present, else the first sheet holding the header."""
    try:
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
    except Exception as exc:  # zipfile.BadZipFile, xlrd errors: a corrupt or mis-named file
        raise DataError(f"{path}: not a readable spreadsheet ({type(exc).__name__}: {exc}); re-copy the file from the release") from None
    ordered = sorted(names, key=lambda n: str(n).lower() != SHEETS[part].lower())
    errors = []
    for name in ordered:
        try:
            return read_table(path, REQUIRED[part], sheet=name)
        except DataError as exc:
            errors.append(f"sheet {name!r}: {exc}")
    raise DataError(f"{path}: no sheet holds the Part {part} columns {list(REQUIRED[part])}; " + "; ".join(errors))


# ---------------------------------------------------------------- cells


def _emotion(cell: str, part: str, where: str, clip: str) -> tuple[str | None, list[Problem]]:
    emotion, problems = emotion_label(cell, EMOTIONS[part], where, clip)
    if emotion is not None and cell.strip() != emotion:
        problems.append(Problem("warning", where, clip, f"emotion written {cell.strip()!r}; read as {emotion!r} (the sheet mixes spellings, datasets.md §0.7)"))
    return emotion, problems


def _aus(cell: str, where: str, clip: str) -> tuple[list[str], list[Problem]]:
    codes, problems = au_codes(cell, where, clip)
    if "\uff0c" in cell:
        problems.append(Problem("warning", where, clip, f"AU text {cell!r} separates with the full-width comma '，'; read as ','"))
    if re.search(rf"^\s*{_SEPARATOR}|{_SEPARATOR}\s*$|{_SEPARATOR}\s*{_SEPARATOR}", cell):
        problems.append(Problem("warning", where, clip, f"AU text {cell!r} has an empty item (a leading, trailing or doubled separator); ignored"))
    if not cell.strip():
        problems.append(Problem("warning", where, clip, "no AU coded in this row; the clip has no AUs"))
    return codes, problems


def _objective_class(cell: str, where: str, clip: str) -> tuple[int | None, list[Problem]]:
    text = cell.strip().upper()
    if text in ROMAN:
        return ROMAN[text], []
    shown = repr(cell) if cell.strip() else "empty"
    return None, [Problem("warning", where, clip, f"Objective class {shown} is not a class I..VII (Davison et al. 2018); left unset")]


# ---------------------------------------------------------------- parts


def _read_part_a(table: pd.DataFrame, path: Path, tree: FrameTree) -> tuple[list[dict], list[Problem]]:
    cols = {name: column(table, name) for name in REQUIRED["A"]}
    try:
        objective: str | None = column(table, OBJECTIVE)
    except DataError:
        objective = None
    problems: list[Problem] = []
    if objective is None:
        problems.append(Problem("warning", path.name, "", f"no '{OBJECTIVE}' column (the release has one); objective_class left unset"))
    folders = Folders(tree.color) if tree.kind == "full" else None
    names, depth_names = (listing(tree.color), listing(tree.depth)) if tree.kind == "clips" else ({}, {})
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        subject, filename, onset_text = rec[cols["Subject"]], rec[cols["Filename"]], whole_text(rec[cols["Onset"]])
        clip = f"{subject}/{filename}/{onset_text}"
        if not subject or not filename:
            problems.append(Problem("fatal", where, clip, f"no {'Subject' if not subject else 'Filename'} in this row; fill the cell "
                                    "(Subject spNO.{n}, Filename one letter a..m)"))
            continue
        if clip in seen:
            problems.append(Problem("fatal", where, clip, f"Subject, Filename and Onset are already used by row {seen[clip]}; keep one of the two rows"))
            continue
        seen[clip] = rec[EXCEL_ROW]
        emotion, found = _emotion(rec[cols["emotion"]], "A", where, clip)
        problems += found
        onset, apex, found = one_based(rec[cols["Onset"]], rec[cols["Apex"]], where, clip)
        problems += found
        triplet, found = frame_triplet(onset, apex, rec[cols["Offset"]], where, clip)
        problems += found + (span_problems(triplet, where, clip, "a micro-expression") if triplet else [])
        aus, found = _aus(rec[cols["AU"]], where, clip)
        problems += found
        objective_class = None
        if objective is not None:
            objective_class, found = _objective_class(rec[objective], where, clip)
            problems += found
        if folders is not None:
            color, depth, found = clip_folder_full(folders, subject, filename, where, clip)
        else:
            onsets = dict.fromkeys([onset_text, whole_text(onset)])
            color, depth, found = clip_folder_clips(tree, names, depth_names, subject, filename, onsets, where, clip)
        problems += found
        if emotion is None or triplet is None or color is None:
            continue
        rows.append(index_row(subject, clip, triplet, emotion, aus, objective_class, where, color, depth))
    problems += depth_problems(rows, path)
    return rows, problems


def _read_part_c(table: pd.DataFrame, path: Path, tree: Path) -> tuple[list[dict], list[Problem]]:
    cols = {name: column(table, name) for name in REQUIRED["C"]}
    problems = [Problem("warning", path.name, "", "Part C has no apex column; every clip's apex is its middle frame (onset + offset) // 2 (datasets.md §5)")]
    subjects: dict[str, Path] = {}
    for entry in sorted(tree.iterdir()):
        if entry.is_dir() and entry.name.isdigit():
            subjects.setdefault(str(int(entry.name)), entry)
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        subject, count = whole_text(rec[cols["sub"]]), whole_text(rec[cols["count"]])
        clip = f"{subject}/{count}"
        if not subject.isdigit() or not count.isdigit():
            problems.append(Problem("fatal", where, clip, f"sub {rec[cols['sub']]!r} and count {rec[cols['count']]!r} must be whole numbers "
                                    "(the subject and the ME's number within it)"))
            continue
        if clip in seen:
            problems.append(Problem("fatal", where, clip, f"sub {subject} and count {count} are already used by row {seen[clip]}; keep one of the two rows"))
            continue
        seen[clip] = rec[EXCEL_ROW]
        emotion, found = _emotion(rec[cols["emotion"]], "C", where, clip)
        problems += found
        triplet, found = frame_triplet(rec[cols["onset"]], "", rec[cols["offset"]], where, clip)
        problems += [p for p in found if p.severity == "fatal"]  # the missing-apex warning is the file-level one above
        problems += span_problems(triplet, where, clip, "a micro-expression") if triplet else []
        aus, found = _aus(rec[cols["au"]], where, clip)
        problems += found
        color, depth = None, None
        subject_dir = subjects.get(subject)
        if subject_dir is None:
            problems.append(Problem("fatal", where, clip, f"subject folder {int(subject):02d} is missing in {tree}; restore it or remove the subject's rows"))
        else:
            me = next((e for e in sorted(subject_dir.iterdir()) if e.is_dir() and e.name.isdigit() and int(e.name) == int(count)), None)
            color = child(me, "color")
            depth = child(me, "depth")
            if color is None:
                wanted = f"{subject_dir}/{count}/color" if me is None else f"{me}/color"
                problems.append(Problem("fatal", where, clip, f"no folder {wanted}; restore it or remove the row (meb's layout ME_C/{{sub:02d}}/{{count}}/color)"))
        if emotion is None or triplet is None or color is None:
            continue
        rows.append(index_row(subject, clip, triplet, emotion, aus, None, where, color, depth))
    return rows, problems


SPEC = register(DatasetSpec(
    name=NAME,
    title="CAS(ME)^3: Part A (860 MEs, 94 subjects, RGB + 16-bit depth) or Part C (165 mock-crime MEs, 30 subjects), 30 fps",
    scan=scan,
    schemes=casme3_schemes.schemes(EMOTIONS),
    default_scheme="four",
    modalities={"rgb": Modality("frames_dir", color="rgb"), "gray": Modality("frames_dir", color="gray"),
                "depth": Modality("depth_dir", reader="depth")},
    default_modality="rgb",
    writer=NAME,
    extra={"parts": PARTS},
))
