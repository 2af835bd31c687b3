"""Read a 4DME label spreadsheet (datasets.md §6) into clean rows plus a list of problems.

Columns used: ``sub_ID, fold_name, Onset, Apex, Offset, AUs, Emotion`` and, when present,
``fold``. Older files carry trailing apostrophes on names (``sub_ID'``); ids are read as text.
Bad apex values (``/``, 0, NaN, outside the clip) fall back to the middle frame and are reported
as warnings; unparseable AU tokens and unknown emotions are fatal for that row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.problems import Problem
from mer4d.labels.au_emotion import parse_emotions
from mer4d.labels.aus import parse_aus
from mer4d.labels.facs import is_facs

REQUIRED = ("sub_ID", "fold_name", "Onset", "Apex", "Offset", "AUs", "Emotion")


def _clean(name: object) -> str:
    return str(name).strip().rstrip("'").strip()


def read_sheet(path: Path) -> pd.DataFrame:
    """The sheet as text cells with the header row auto-detected (first row holding sub_ID and fold_name)."""
    try:
        raw = pd.read_excel(path, header=None, dtype=str)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise DataError(f"{path}: cannot read the label spreadsheet ({type(exc).__name__}: {exc})") from exc
    for row in range(min(len(raw), 30)):
        names = [_clean(v) for v in raw.iloc[row]]
        if "sub_ID" in names and "fold_name" in names:
            table = raw.iloc[row + 1 :].copy()
            table.columns = names
            table = table.dropna(how="all")
            table.index = table.index + 1  # 1-based spreadsheet row numbers, as a user sees them
            missing = [c for c in REQUIRED if c not in names]
            if missing:
                raise DataError(f"{path}: missing column(s) {missing}; found {names}")
            return table
    raise DataError(f"{path}: no header row with 'sub_ID' and 'fold_name' in the first 30 rows")


def _frame(value: object) -> int | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if number == number and number > 0 else None  # NaN fails number == number


def parse_rows(table: pd.DataFrame, path: Path, kind: str) -> tuple[list[dict], list[Problem]]:
    """Index rows (without paths) and the problems found, one row per usable clip."""
    rows, problems = [], []
    for line, cells in table.iterrows():
        where = f"{path.name} row {line}"
        subject, name = str(cells["sub_ID"]).strip(), str(cells["fold_name"]).strip()
        clip = f"{subject}/{name}"
        onset, apex, offset = (_frame(cells[c]) for c in ("Onset", "Apex", "Offset"))
        if onset is None or offset is None:
            problems.append(Problem("fatal", where, clip, f"onset/offset must be positive frame numbers, got {cells['Onset']!r}/{cells['Offset']!r}"))
            continue
        if onset > offset:
            problems.append(Problem("fatal", where, clip, f"onset {onset} > offset {offset}"))
            continue
        if apex is None or not onset <= apex <= offset:
            middle = (onset + offset) // 2
            problems.append(Problem("warning", where, clip, f"apex {cells['Apex']!r} is not inside [{onset}, {offset}]; using the middle frame {middle}"))
            apex = middle
        tokens, unknown = parse_aus(cells["AUs"], source=where, strict=False)
        if unknown:
            problems.append(Problem("fatal", where, clip, f"unknown AU token(s) {unknown} in {cells['AUs']!r}"))
            continue
        not_facs = [str(t) for t in tokens if not is_facs(t.number)]
        if not_facs:  # a well-formed code FACS does not have (AU99): a typo to fix, not a label
            problems.append(Problem("warning", where, clip, f"AU text {cells['AUs']!r}: {not_facs} not FACS action unit(s); left out of the clip's AUs"))
            tokens = [t for t in tokens if is_facs(t.number)]
        try:
            emotions = parse_emotions(cells["Emotion"], source=where)
        except DataError as exc:
            problems.append(Problem("fatal", where, clip, str(exc)))
            continue
        fold = cells.get("fold")
        rows.append({
            "dataset": "4dme", "subject": subject, "clip_id": clip, "clip_name": name, "kind": kind, "fps": 60.0,
            "onset": onset, "apex": apex, "offset": offset,
            "emotion": "+".join(emotions), "emotions": list(emotions),
            "aus": [t.code for t in tokens if not t.static], "aus_static": [t.code for t in tokens if t.static],
            "fold": None if fold is None or pd.isna(fold) else str(fold).strip(), "label_row": where,
        })
    return rows, problems
