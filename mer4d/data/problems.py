"""Problems found while reading a dataset, collected so `mer4d data check` can list them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mer4d.core.errors import DataError


@dataclass(frozen=True)
class Problem:
    """One finding. ``fatal`` problems make a clip unusable; warnings were repaired and logged."""

    severity: Literal["fatal", "warning"]
    where: str  # file, and row or frame when known
    clip: str  # clip id, or "" for file-level problems
    message: str


def problems_table(problems: list[Problem]) -> str:
    """A plain-text table, fatal problems first."""
    if not problems:
        return "no problems found"
    rows = sorted(problems, key=lambda p: (p.severity != "fatal", p.clip, p.where))
    widths = [max(len(getattr(p, f)) for p in rows) for f in ("severity", "clip", "where")]
    widths = [max(w, len(h)) for w, h in zip(widths, ("severity", "clip", "where"), strict=True)]
    head = f"{'severity':{widths[0]}}  {'clip':{widths[1]}}  {'where':{widths[2]}}  problem"
    lines = [head, "-" * len(head)]
    lines += [f"{p.severity:{widths[0]}}  {p.clip:{widths[1]}}  {p.where:{widths[2]}}  {p.message}" for p in rows]
    return "\n".join(lines)


def raise_if_fatal(problems: list[Problem], dataset: str, root: object) -> None:
    fatal = [p for p in problems if p.severity == "fatal"]
    if fatal:
        shown = "\n".join(f"  {p.clip or '-'} | {p.where} | {p.message}" for p in fatal[:10])
        more = f"\n  ... and {len(fatal) - 10} more" if len(fatal) > 10 else ""
        raise DataError(
            f"{dataset} at {root}: {len(fatal)} fatal problem(s):\n{shown}{more}\n"
            f"Run 'mer4d data check --dataset {dataset} --root {root}' for the full list."
        )
