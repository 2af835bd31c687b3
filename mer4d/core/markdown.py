"""GitHub-flavoured markdown tables: the one row format every printed mer4d table uses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_rows(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """``| a | b |`` lines: the header, the ``|---|`` rule, then one line per row of cell strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])
