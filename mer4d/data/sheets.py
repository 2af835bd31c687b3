"""Reading label spreadsheets the way every dataset needs (datasets.md §0 rules 3, 4 and 6).

Every cell is read as text (``dtype=str``): subject ids such as ``"006"`` keep their zeros, and
an AU cell is the same text whether Excel stored a number or a string. The header row is found,
not assumed (SAMM's v2 file has 13 preamble rows; other copies have different preambles).
Each row remembers its spreadsheet row number (``excel_row``, 1-based as Excel shows it) so a
problem names the row a person would open.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError

EXCEL_ROW = "excel_row"


def _read_raw(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, header=None, dtype=str, keep_default_na=False, skip_blank_lines=False)
        return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, dtype=str)
    except FileNotFoundError:
        raise DataError(f"{path}: label file not found") from None
    except ValueError as exc:  # a missing sheet name, or not a spreadsheet
        raise DataError(f"{path}: cannot read sheet {sheet!r}: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, xlrd errors, ...: a corrupt or mis-named file
        raise DataError(f"{path}: not a readable spreadsheet ({type(exc).__name__}: {exc}); re-copy the file from the release") from None


def _clean(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def find_header_row(raw: pd.DataFrame, required: Sequence[str], path: Path) -> int:
    """Position of the first row holding every name in ``required`` (case- and space-insensitive)."""
    wanted = {r.lower() for r in required}
    for position in range(min(len(raw), 60)):
        cells = {_clean(v).lower() for v in raw.iloc[position]}
        if wanted <= cells:
            return position
    raise DataError(f"{path}: no header row holding {list(required)} in its first 60 rows; "
                    "is this the dataset's label file (or a copy with renamed columns)?")


def read_table(path: str | Path, required: Sequence[str], *, sheet: str | int | None = None, header: int | None = None) -> pd.DataFrame:
    """The data rows of a label sheet as text, with the column ``excel_row``.

    Args:
        path: ``.xlsx``, ``.xls`` or ``.csv``.
        required: column names that must be in the header (used to find it when ``header`` is None).
        sheet: sheet name or position (default the first).
        header: 0-based header row position; None -> :func:`find_header_row`.

    Returns:
        One row per non-empty spreadsheet row below the header; column names stripped; blank
        header cells become ``blank_<k>``; empty cells are ``""``.
    """
    path = Path(path)
    raw = _read_raw(path, sheet)
    position = find_header_row(raw, required, path) if header is None else header
    names = [(_clean(v) or f"blank_{k}") for k, v in enumerate(raw.iloc[position])]
    missing = [r for r in required if r.lower() not in {n.lower() for n in names}]
    if missing:
        raise DataError(f"{path}: header row {position + 1} lacks column(s) {missing}; found {names}")
    body = raw.iloc[position + 1 :].map(_clean)
    body.columns = _unique(names)
    body[EXCEL_ROW] = [position + 2 + k for k in range(len(body))]
    filled = body.drop(columns=EXCEL_ROW).ne("").any(axis=1)
    return body[filled].reset_index(drop=True)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}.{seen[n] - 1}")
    return out


def column(table: pd.DataFrame, name: str) -> str:
    """The actual column called ``name`` up to case and spaces (``'Onset Frame'`` ~ ``'onset frame'``)."""
    key = name.lower().replace(" ", "")
    for c in table.columns:
        if str(c).lower().replace(" ", "") == key:
            return c
    raise DataError(f"no column {name!r}; found {list(table.columns)}")
