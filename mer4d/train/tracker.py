"""What the protocol runner reports to, so training stays free of any tracking backend.

``mer4d.tracking.MlflowTracker`` implements this against MLflow; :class:`MemoryTracker` keeps
everything in memory (library use, tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd


@dataclass(frozen=True)
class FoldOutcome:
    """A finished fold: its predictions table (see ``targets.prediction_table``) and metrics."""

    number: int
    name: str
    table: pd.DataFrame
    metrics: dict[str, float]
    epochs_run: int


class Tracker(Protocol):
    def completed_folds(self) -> dict[int, FoldOutcome]:
        """Folds finished by an earlier attempt of this run (empty for a new run)."""

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None: ...

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...

    def finish_fold(self, outcome: FoldOutcome) -> None:
        """Record the fold durably; after this returns, a resume must not redo it."""


@dataclass
class MemoryTracker:
    """Keeps folds and epoch logs in memory; ``done`` pre-fills finished folds for resume tests."""

    done: dict[int, FoldOutcome] = field(default_factory=dict)
    epochs: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    current: int = -1

    def completed_folds(self) -> dict[int, FoldOutcome]:
        return dict(self.done)

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        self.current = number
        self.epochs[number] = []

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs[self.current].append({"epoch": epoch, **metrics})

    def finish_fold(self, outcome: FoldOutcome) -> None:
        self.done[outcome.number] = outcome
