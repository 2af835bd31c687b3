"""CAS(ME)^3 Part A macro-expressions: the MaE sheet ``cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx``.

**Unverified format.** No real copy of this file was available; what is read follows datasets.md §5
and public loader code only ([CODE] idx:18122415988, which reads sheet ``Sheet1``, renames
``sub, seq, onset, apex, offset, emotion`` to the ME sheet's ``Subject, Filename, Onset, Apex,
Offset, emotion``, compares ``sub`` with ``'spNO.150'`` and builds ``{sub}/{seq}/color/{N}.jpg``):

* found like the ME sheet (the root, ``annotation/``, ``annotation/partA``, ``part_A/...``; the name
  matched without regard to case, other versions / dates named in a warning); the first sheet
  holding the six columns is read (``Sheet1`` first); the release's full annotation
  ``CAS(ME)3_part_A_v2.xls`` (sheet ``AU+Emotion``, 3346 macro rows) has no emotion column and is
  not read;
* ``sub``: ``spNO.{n}`` as the ME sheet spells it, or the bare number ``n`` (an int or ``"150.0"``
  cell): both read as ``spNO.{n}``, so a subject's micro and macro clips share one ``subject``;
  another spelling of ``spNO`` (``spNo.150``, ``spNO150``) is read the same with one warning per
  spelling; anything else is fatal;
* ``seq``: the stimulus video letter (the ME sheet's ``Filename``); the clip's frames are the same
  long-video folders as the MEs', ``{Subject}/{seq}/color/{N}.jpg`` (and ``depth/``), with the same
  folder spellings and Part A's 1-based numbers (an onset 0 is read as 1, as the ME sheet's);
* ``onset, apex, offset``: absolute frame numbers; a bad triplet is a problem as in the ME sheet
  (offset before onset: fatal; an apex outside the clip: the middle frame);
* ``emotion``: lower-cased. ``happiness`` / ``sadness`` (spellings the loader code above maps) are
  read as ``happy`` / ``sad``; a label outside the ME sheet's seven is read as ``others``, so every
  label scheme maps it (macro clips serve pre-training, whose labels are not trained on); each
  spelling gets one warning with its row count. An empty cell is fatal, as everywhere;
* no AU and no objective class columns: ``aus`` is empty and ``objective_class`` None.

Index rows: ``kind = "macro"``, ``clip_id = "{Subject}/{seq}/{onset}_macro"`` (the ME ids are
``"{Subject}/{Filename}/{Onset}"``, so the two never collide). The ME-clip distribution
(``Part_A_ME_clip``) holds micro clips only: with it, the MaE sheet's rows are not read (one warning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets.casme3_layout import (
    LABEL_DIRS,
    Folders,
    FrameTree,
    clip_folder_full,
    depth_problems,
    descend,
    index_row,
    one_based,
    span_problems,
    whole_text,
)
from mer4d.data.problems import Problem
from mer4d.data.rows import emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table

MACRO_FILE = "cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"
_MACRO_NAME = re.compile(r"^cas\(me\)3_part_A_MaE_label_JpgIndex(?:_v(?P<version>\d+))?(?:_emotion)?(?:_(?P<date>\d{8}))?\.xlsx?$",
                         re.IGNORECASE)
SHEET = "Sheet1"
REQUIRED = ("sub", "seq", "onset", "apex", "offset", "emotion")
ALIASES = {"happiness": "happy", "sadness": "sad"}
FALLBACK = "others"
# A macro-expression lasts 0.5-4 s; a span this long is probably a typo.
_SUBJECT = re.compile(r"^sp\s*no\.?\s*(\d+)$", re.IGNORECASE)


def places(root: Path) -> str:
    """Where the MaE sheet is looked for, for messages."""
    return ", ".join(f"{root}/{d}" if d else str(root) for d in LABEL_DIRS["A"])


def missing_message(root: Path) -> str:
    """Why a root has no macro-expression clips (``dataset.kind: macro | all`` names it)."""
    return (f"no Part A macro-expression sheet {MACRO_FILE} (or another version of it) in {places(root)}; the ME sheet holds "
            "micro-expressions only. Copy the MaE sheet from the release's annotation/partA, or set dataset.kind: micro")


def find_macro_file(root: Path) -> tuple[Path | None, list[Problem]]:
    """The MaE sheet (newest version, then date; the first place of LABEL_DIRS on a tie), or None; warnings naming the others."""
    found = [p for d in LABEL_DIRS["A"] if (folder := descend(root, d)) for p in sorted(folder.iterdir())
             if p.is_file() and _MACRO_NAME.match(p.name)]
    if not found:
        return None, []

    def key(p: Path) -> tuple[int, int]:
        match = _MACRO_NAME.match(p.name)
        assert match is not None  # only matching names were kept
        return -int(match.group("version") or 1), -int(match.group("date") or 0)

    found.sort(key=key)
    path = found[0]
    return path, [Problem("warning", other.name, "", f"another copy or version of the MaE sheet ({other}); using {path.name} ({path}), "
                          f"ignoring {other.name}") for other in found[1:]]


def read_sheet(path: Path) -> pd.DataFrame:
    """The MaE rows: the first sheet holding :data:`REQUIRED` (``Sheet1`` tried first)."""
    try:
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
    except Exception as exc:  # zipfile.BadZipFile, xlrd errors: a corrupt or mis-named file
        raise DataError(f"{path}: not a readable spreadsheet ({type(exc).__name__}: {exc}); re-copy the file from the release") from None
    errors = []
    for name in sorted(names, key=lambda n: str(n).lower() != SHEET.lower()):
        try:
            return read_table(path, REQUIRED, sheet=name)
        except DataError as exc:
            errors.append(f"sheet {name!r}: {exc}")
    raise DataError(f"{path}: no sheet holds the MaE columns {list(REQUIRED)} (format unverified, datasets.md §5); " + "; ".join(errors))


def read_macro(root: Path, tree: FrameTree, emotions: Iterable[str]) -> tuple[list[dict], list[Problem], Path | None]:
    """Index rows (``kind="macro"``) of the MaE sheet under ``root``, its problems, and the sheet's path (None: no sheet, no rows)."""
    path, problems = find_macro_file(root)
    if path is None:
        return [], problems, None
    table = read_sheet(path)
    if tree.kind != "full":
        return [], problems + [Problem("warning", path.name, "", f"the frames are the ME-clip distribution {tree.color.parent.name}, which holds "
                                       f"micro clips only; the {len(table)} macro-expression row(s) of {path.name} are not read")], path
    rows, found = _read_rows(table, path, Folders(tree.color), tuple(emotions))
    return rows, problems + found, path


def _read_rows(table: pd.DataFrame, path: Path, folders: Folders, emotions: tuple[str, ...]) -> tuple[list[dict], list[Problem]]:
    cols = {name: column(table, name) for name in REQUIRED}
    problems: list[Problem] = []
    spellings: dict[tuple[str, str], list] = {}  # (what, cell text) -> [where, clip, rows, read as]
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        seq, onset_text = rec[cols["seq"]].strip(), whole_text(rec[cols["onset"]])
        subject = _subject(rec[cols["sub"]])
        clip = f"{subject or rec[cols['sub']]}/{seq}/{onset_text}_macro"
        if subject is None or not seq:
            what = f"sub {rec[cols['sub']]!r} is not a subject (expected spNO.{{n}} as in the ME sheet, or the number n)" if subject is None \
                else "no seq (the video letter a..m) in this row; fill the cell"
            problems.append(Problem("fatal", where, clip, what))
            continue
        if clip in seen:
            problems.append(Problem("fatal", where, clip, f"sub, seq and onset are already used by row {seen[clip]}; keep one of the two rows"))
            continue
        seen[clip] = rec[EXCEL_ROW]
        sub_text = rec[cols["sub"]].strip()
        if not whole_text(sub_text).isdigit() and sub_text != subject:
            _count(spellings, ("sub", sub_text), where, clip, subject)
        emotion, found = _emotion(rec[cols["emotion"]], emotions, where, clip, spellings)
        problems += found
        onset, apex, found = one_based(rec[cols["onset"]], rec[cols["apex"]], where, clip)
        problems += [Problem(p.severity, p.where, p.clip, p.message + "; applied to the MaE sheet as to the ME sheet") for p in found]
        triplet, found = frame_triplet(onset, apex, rec[cols["offset"]], where, clip)
        problems += found + (span_problems(triplet, where, clip, "a macro-expression (0.5-4 s)") if triplet else [])
        color, depth, found = clip_folder_full(folders, subject, seq, where, clip)
        problems += found
        if emotion is None or triplet is None or color is None:
            continue
        rows.append(index_row(subject, clip, triplet, emotion, [], None, where, color, depth, kind="macro"))
    problems += [_spelling_problem(what, text, *info) for (what, text), info in spellings.items()]
    return rows, problems + depth_problems(rows, path)


def _subject(cell: str) -> str | None:
    """``spNO.{n}`` of a ``sub`` cell written ``spNO.n`` (any case, with or without the dot) or ``n``; None otherwise."""
    text = whole_text(cell)
    if text.isdigit():
        return f"spNO.{int(text)}"
    match = _SUBJECT.match(text)
    return f"spNO.{int(match.group(1))}" if match else None


def _emotion(cell: str, emotions: tuple[str, ...], where: str, clip: str, spellings: dict) -> tuple[str | None, list[Problem]]:
    text = str(cell).strip().lower()
    if text in ("", "nan"):
        return emotion_label(cell, emotions, where, clip)  # the fatal 'no emotion label' problem
    label = ALIASES.get(text, text if text in emotions else FALLBACK)
    if str(cell).strip() != label:
        _count(spellings, ("emotion", str(cell).strip()), where, clip, label)
    return label, []


def _count(spellings: dict, key: tuple[str, str], where: str, clip: str, read_as: str) -> None:
    entry = spellings.setdefault(key, [where, clip, 0, read_as])
    entry[2] += 1


def _spelling_problem(what: str, text: str, where: str, clip: str, count: int, read_as: str) -> Problem:
    rows = f"{count} row(s), the first here"
    if what == "sub":
        return Problem("warning", where, clip, f"sub written {text!r} ({rows}); read as {read_as!r}, the ME sheet's spelling")
    if text.lower() == read_as or text.lower() in ALIASES:
        return Problem("warning", where, clip, f"emotion written {text!r} ({rows}); read as {read_as!r}, the ME sheet's label")
    return Problem("warning", where, clip, f"emotion {text!r} ({rows}) is not one of the ME sheet's labels; read as {FALLBACK!r} so every label "
                   "scheme maps it (macro clips serve pre-training, which does not train on their labels)")


