"""Read a raters' CSV (``mer4d analyze agreement FILE``) into an items x raters table of labels.

The format (what ``mer4d data synth --param annotators=N`` writes as ``annotators.csv``)::

    clip_id,rater_1,rater_2,rater_3
    sub01/EP02_01f,happiness,happiness,others
    sub01/EP03_02,disgust,disgust,disgust

* a header row; the first column names the item (any header, e.g. ``clip_id``), its values unique;
* every other column is one rater (any header, unique), at least two of them;
* a cell is that rater's category for that item, as text (``3`` and ``disgust`` are both fine;
  surrounding spaces are dropped, case is kept); every rater rates every item (Fleiss' kappa needs
  the same number of ratings per item), so an empty cell is an error naming its row and column.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first item row 2.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer4d.core.errors import DataError

FORMAT_HINT = "expected a header row 'clip_id,rater_1,rater_2,...' and one row per item with every rater's label (docs/analysis.md)"


@dataclass(frozen=True)
class RaterTable:
    """Labels of every rater for every item.

    Attributes:
        path: the file read.
        items: (N,) item ids, in file order.
        raters: (m,) rater names (the header cells).
        labels: (N, m) the labels, as text.
    """

    path: Path
    items: tuple[str, ...]
    raters: tuple[str, ...]
    labels: np.ndarray

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.labels.ravel().tolist())))


def read_raters(path: Path | str) -> RaterTable:
    """Parse and check a raters' CSV (module docstring); every problem is a :class:`DataError` naming row and column."""
    path = Path(path)
    rows = _rows(path)
    header = _header(path, rows[0][1])
    if len(rows) < 2:
        raise DataError(f"{path}: a header but no item rows; {FORMAT_HINT}")
    items: list[str] = []
    labels: list[list[str]] = []
    seen: dict[str, int] = {}
    for number, row in rows[1:]:
        cells = _item_row(path, header, number, row, seen)
        seen[cells[0]] = number
        items.append(cells[0])
        labels.append(cells[1:])
    table = RaterTable(path, tuple(items), tuple(header[1:]), np.array(labels, dtype=object))
    if len(table.categories) < 2:
        raise DataError(f"{path}: every rating is {table.categories[0]!r}; kappa is undefined when all ratings fall in one category")
    return table


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """The CSV's records with their 1-based record numbers (a spreadsheet's row numbers), blank ones left out."""
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the raters' CSV ({FORMAT_HINT})")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # utf-8-sig: Excel's CSV export starts with a BOM
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({type(exc).__name__}: {exc}); {FORMAT_HINT}") from None
    rows = [(k, r) for k, r in enumerate(rows, start=1) if any(cell.strip() for cell in r)]  # blank lines are not items
    if not rows:
        raise DataError(f"{path}: the file is empty; {FORMAT_HINT}")
    return rows


def _header(path: Path, row: list[str]) -> list[str]:
    header = [cell.strip() for cell in row]
    if len(header) < 3:
        raise DataError(f"{path} row 1: found {len(header)} column(s) {header}; need an item column and at least 2 rater columns ({FORMAT_HINT})")
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"{path} row 1, column {j + 1}: empty header cell; name every column (item id first, then one per rater)")
    doubled = sorted({n for n in header if header.count(n) > 1})
    if doubled:
        raise DataError(f"{path} row 1: column name(s) {doubled} appear more than once; each rater needs its own column")
    return header


def _item_row(path: Path, header: list[str], number: int, row: list[str], seen: dict[str, int]) -> list[str]:
    if len(row) != len(header):
        raise DataError(f"{path} row {number}: {len(row)} cell(s), but the header has {len(header)} columns {header}; "
                        "every row needs an item id and one label per rater")
    cells = [cell.strip() for cell in row]
    item = cells[0]
    if not item:
        raise DataError(f"{path} row {number}, column '{header[0]}': empty item id; every row names the item it rates")
    if item in seen:
        raise DataError(f"{path} row {number}, column '{header[0]}': item {item!r} already appears in row {seen[item]}; "
                        "give each item one row holding all its ratings")
    for j, cell in enumerate(cells[1:], start=1):
        if not cell:
            raise DataError(f"{path} row {number} (item {item!r}), column '{header[j]}': empty rating; every rater must rate every item "
                            "(Fleiss' kappa needs the same number of ratings per item): fill it, or drop the item's row")
    return cells
