"""SMIC-E, the long clips of SMIC for spotting (``smic`` spec, ``edition="smic-e"``; datasets.md §3).

Layout (MEAN's README and load_excel.py, merlib's process_SMICHSE [CODE])::

    <root>/SMIC-E_raw image/HS_long/SMIC-HS-E_annotation.xlsx      # also ..._2019.xlsx, a newer copy
    <root>/SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01/image559740.jpg

Subject folders are zero-padded (``s01``), clip folders are not (``s1_ne_01``); frame numbers are
absolute, as in the sheet. The sheet's columns (``Subject, Filename, OnsetF, OffsetF, Emotion,
FirstF, LastF, TotalVL, TotalMF1, Onset2F, Offset2F, TotalMF2, Onset3F, Offset3F, TotalMF3``) are
known from loader code only: no copy of the file was parsed, so only the ``LONG_REQUIRED``
columns are required and the rest are read when present. What is still a guess: the exact text
of the ``Emotion`` cells (read as negative/positive/surprise, as the script that made the
third-party apex list maps them), whether any copy holds an apex column (``ApexF`` is read when
there is one), the layout of the VIS and NIR sheets (one MATLAB loader reads them with other
column positions, so they are read by name here) and what the trailing text rows say.
"""

from __future__ import annotations

import re
from pathlib import Path

from mer4d.core.errors import DataError
from mer4d.data.datasets.smic_clips import (
    _CLIP_NAME,
    _SUBJECT_DIR,
    CODES,
    EMOTIONS,
    NAME,
    ApexRow,
    _child,
    _maybe_column,
    _row,
    _spelling,
    _subject_dirs,
    load_apex_list,
)
from mer4d.data.problems import Problem
from mer4d.data.readers.frames import list_frames
from mer4d.data.rows import emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, read_table

LONG_REQUIRED = ("Subject", "Filename", "OnsetF", "OffsetF")
ME_COLUMNS = (("OnsetF", "OffsetF", "ApexF"), ("Onset2F", "Offset2F", "Apex2F"), ("Onset3F", "Offset3F", "Apex3F"))
_RAW_IMAGE = re.compile(r"^smic[-_ ]e[-_ ]raw[-_ ]image$", re.IGNORECASE)
_SHEET_TAGS = {"2019": 0, "": 1, "orig": 2}  # by name the newest first; any other tag after these


def _names(camera: str) -> tuple[re.Pattern, re.Pattern, str]:
    """Patterns of the frame folder and the sheet of ``camera``, and the folder's release spelling."""
    folder = re.compile(rf"^smic[-_]{camera}[-_]e$", re.IGNORECASE)
    sheet = re.compile(rf"^smic[-_]{camera}[-_]e[-_]annotation(?:[-_](?P<tag>[^.]+))?\.(?P<ext>xlsx|xls|csv)$", re.IGNORECASE)
    return folder, sheet, f"SMIC-{camera}-E"


def _matching(folder: Path | None, pattern: re.Pattern, want_dir: bool) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return [e for e in sorted(folder.iterdir()) if pattern.match(e.name) and (e.is_dir() if want_dir else e.is_file())]


def find_long_layout(root: Path, camera: str) -> tuple[Path, Path, list[Problem]]:
    """``(annotation sheet, folder of the s01.. subject folders, problems)`` of SMIC-E for ``camera``.

    ``root`` may be the folder above ``SMIC-E_raw image``, that folder, ``{camera}_long`` or the
    ``SMIC-{camera}-E`` frame folder itself (whose sheet then sits beside it, in ``{camera}_long``).
    """
    folder_name, sheet_name, release = _names(camera)
    raw = [r for base in (root, _child(root, "SMIC")) for r in _matching(base, _RAW_IMAGE, True)]
    longs = [d for d in [root, *[_child(base, f"{camera}_long") for base in (root, *raw)]] if d is not None]
    if folder_name.match(root.name):
        longs = [root.parent]
    for long_dir in longs:
        frames_dir = next(iter(_matching(long_dir, folder_name, True)), None)
        sheets = _matching(long_dir, sheet_name, False) + _matching(frames_dir, sheet_name, False)
        if frames_dir is None or not sheets:
            continue
        problems = _spelling(frames_dir, release)
        nested = _child(frames_dir, camera)  # MEAN's tree shows SMIC-HS-E/HS/ below the frame folder
        if nested is not None and any(_SUBJECT_DIR.match(e.name) for e in nested.iterdir()):
            frames_dir = nested
        return _newest_sheet(sheets, sheet_name, problems), frames_dir, problems
    raise DataError(f"{NAME}: no SMIC-E {camera} layout in {root}: looked for {release}_annotation[_2019].xlsx beside or in a {release} "
                    f"frame folder in {', '.join(str(d) for d in longs)} (datasets.md §3: SMIC-E_raw image/{camera}_long/)")


def _newest_sheet(sheets: list[Path], pattern: re.Pattern, problems: list[Problem]) -> Path:
    """``_2019`` before the plain name before ``_orig`` (xlsx before xls before csv); a warning names the rest."""

    def rank(path: Path) -> tuple[int, int, str]:
        match = pattern.match(path.name)
        tag = (match.group("tag") or "").lower()
        return _SHEET_TAGS.get(tag, len(_SHEET_TAGS)), ("xlsx", "xls", "csv").index(match.group("ext").lower()), path.name

    sheets = sorted(sheets, key=rank)
    if len(sheets) > 1:
        problems.append(Problem("warning", str(sheets[0]), "", f"several SMIC-E annotation files: using {sheets[0].name} (by name the newest: "
                                f"_2019, then the plain name, then _orig), ignoring {[s.name for s in sheets[1:]]}"))
    return sheets[0]


def scan_long(root: Path, camera: str, fps: float, apex_file: str | None) -> tuple[list[dict], list[Problem]]:
    """Index rows (one per ME) of the SMIC-E copy under ``root`` for ``camera``, and the problems."""
    sheet, frames_dir, problems = find_long_layout(root, camera)
    _, apex_rows, found = load_apex_list(root, [root, sheet.parent, frames_dir], camera, apex_file)
    problems += found
    subjects, found = _subject_dirs(frames_dir, padded=True)
    problems += found
    table = read_table(sheet, LONG_REQUIRED)
    cols = {name: _maybe_column(table, name) for name in ("Subject", "Filename", "Emotion") + tuple(c for me in ME_COLUMNS for c in me)}
    if cols["Emotion"] is None:
        problems.append(Problem("warning", sheet.name, "", "no Emotion column: each clip's emotion is read from its Filename code (ne/po/sur)"))
    rows: list[dict] = []
    notes: list[str] = []
    middles = 0
    for rec in table.to_dict("records"):
        where = f"{sheet.name} row {rec[EXCEL_ROW]}"
        cell = {k: (rec[c] if c else "") for k, c in cols.items()}
        number = _whole(cell["Subject"])
        if number is None and not cell["Filename"]:  # the text rows at the end of the sheet
            notes.append(f"{rec[EXCEL_ROW]}: {' '.join(v for k, v in rec.items() if k != EXCEL_ROW and v)[:60]!r}")
            continue
        base = f"s{number:02d}/{cell['Filename']}" if number is not None else cell["Filename"]
        found, folder, emotion = _long_clip(cell, number, cols["Emotion"] is not None, subjects, frames_dir, where, base)
        problems += found
        if folder is None or emotion is None:
            continue
        try:
            listing = list_frames(folder)
        except DataError as exc:
            problems.append(Problem("fatal", where, base, str(exc)))
            continue
        entry = apex_rows.get(cell["Filename"].lower())
        me_rows, found, middle = _me_rows(cell, (listing[0][0], listing[-1][0]), entry, where, base)
        problems += found
        middles += middle
        rows += [_row(str(number), clip, fps, *triplet, emotion, source, folder) for clip, triplet, source in me_rows]
    if notes:
        problems.append(Problem("warning", sheet.name, "", f"{len(notes)} row(s) hold no clip (rows {'; '.join(notes[:3])}"
                                f"{' ...' if len(notes) > 3 else ''}); not label rows, skipped"))
    if middles:
        problems.append(Problem("warning", sheet.name, "", f"no apex for {middles} ME(s) (SMIC-E annotates none, datasets.md §3): "
                                "apex set to the middle frame (onset + offset) // 2"))
    return rows, problems


def _me_rows(cell: dict[str, str], span: tuple[int, int], entry: ApexRow | None, where: str,
             base: str) -> tuple[list[tuple[str, tuple[int, int, int], str]], list[Problem], int]:
    """``([(clip id, (onset, apex, offset), source)], problems, MEs given the middle frame)`` of one sheet row.

    The first ME's apex comes from an ``ApexF`` cell, else the apex list; later MEs' from ``Apex2F``/``Apex3F``.
    """
    out, problems, middles = [], [], 0
    for k, (on_col, off_col, apex_col) in enumerate(ME_COLUMNS, start=1):
        onset, offset = cell[on_col], cell[off_col]
        if k > 1 and not onset and not offset:
            continue
        clip = base if k == 1 else f"{base}#{k}"
        apex = cell[apex_col] or (entry.apex if entry is not None and k == 1 else "")
        middle = not apex and _whole(onset) is not None and _whole(offset) is not None
        if middle:  # one warning for the whole sheet, not one per ME
            apex = str((_whole(onset) + _whole(offset)) // 2)
        triplet, found = frame_triplet(onset, apex, offset, where, clip)
        problems += found
        if triplet is None:
            continue
        if triplet[0] < span[0] or triplet[2] > span[1]:
            problems.append(Problem("fatal", where, clip, f"ME {k} frames {triplet[0]}..{triplet[2]} are not all in the clip folder (it holds "
                                    f"{span[0]}..{span[1]}); check {on_col}/{off_col}"))
            continue
        out.append((clip, triplet, where if k == 1 else f"{where} ME {k}"))
        middles += middle
    return out, problems, middles


def _whole(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value == int(value) else None


def _long_clip(cell: dict[str, str], number: int | None, has_emotion: bool, subjects: dict[int, Path], frames_dir: Path, where: str,
               clip: str) -> tuple[list[Problem], Path | None, str | None]:
    """Checks of one sheet row: ``(problems, clip folder or None, emotion or None)``."""
    filename = cell["Filename"]
    if number is None:
        return [Problem("fatal", where, clip, f"Subject {cell['Subject']!r} is not a subject number (SMIC-E writes 1..20)")], None, None
    if not filename:
        return [Problem("fatal", where, clip, "no Filename in this row; fill the cell (the clip folder, e.g. s1_ne_01)")], None, None
    problems: list[Problem] = []
    match = _CLIP_NAME.match(filename)
    coded = CODES[match.group(2).lower()] if match else None
    if match is None:
        problems.append(Problem("warning", where, clip, f"Filename {filename!r} does not follow s<n>_<ne|po|sur>_<k>"))
    elif int(match.group(1)) != number:
        problems.append(Problem("warning", where, clip, f"Filename {filename} names subject {match.group(1)} but Subject is {number}; "
                                "the Subject cell is kept"))
    emotion = coded
    if has_emotion:
        emotion, found = emotion_label(cell["Emotion"], EMOTIONS, where, clip)
        problems += found
        if emotion is not None and coded is not None and emotion != coded:
            problems.append(Problem("fatal", where, clip, f"Emotion {emotion!r} disagrees with the Filename code {match.group(2)!r} ({coded}); "
                                    "the label is ambiguous: fix one of them"))
            emotion = None
    elif emotion is None:
        problems.append(Problem("fatal", where, clip, "no Emotion column and no ne/po/sur code in the Filename: the clip has no label"))
    subject_dir = subjects.get(number)
    if subject_dir is None:
        problems.append(Problem("fatal", where, clip, f"subject folder s{number:02d} is missing in {frames_dir}; restore it or remove its rows"))
        return problems, None, emotion
    folder = _child(subject_dir, filename)
    if folder is None:
        problems.append(Problem("fatal", where, clip, f"no clip folder {filename} in {subject_dir}; restore the folder or remove the row"))
    return problems, folder, emotion
