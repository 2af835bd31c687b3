"""What an experiment reports to, so training stays free of any tracking backend.

A :class:`Tracker` holds one run: :func:`mer4d.train.experiment.run_experiment` opens it (new or
resumed), records the data, the pooled results and how the run ended; the protocol runner
records the folds inside it. ``mer4d.tracking.mlflow_tracker.MlflowTracker`` implements it against MLflow (a
parent run, one nested run per fold); :class:`MemoryTracker` keeps everything in memory
(library use, tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import pandas as pd

if TYPE_CHECKING:
    from mer4d.recipes.load import LoadedRecipe
    from mer4d.train.checkpoints import FoldCheckpoint
    from mer4d.train.pretrained import Pretrained
    from mer4d.train.repeats import RepeatsResult
    from mer4d.train.runner import ProtocolResult

Ending = Literal["FAILED", "KILLED"]


@dataclass(frozen=True)
class FoldOutcome:
    """A finished fold: its predictions table (see ``targets.prediction_table``) and metrics."""

    number: int
    name: str
    table: pd.DataFrame
    metrics: dict[str, float]
    epochs_run: int
    checkpoint: FoldCheckpoint | None = None  # the fitted model with train.keep_checkpoints (stored by finish_fold; not read back on resume)


@dataclass(frozen=True)
class StoredRun:
    """What a tracker holds of an earlier run, for deciding whether it may be resumed."""

    status: str  # "RUNNING" (e.g. after a SIGKILL), "FINISHED", "FAILED" or "KILLED"
    recipe_yaml: str  # the resolved recipe the run started with (``recipe_to_yaml``)
    fingerprint: str | None  # the dataset fingerprint it recorded, None if it never got that far
    repeats: dict[int, tuple[str, str]] | None = None  # a repeats run: seed -> (its seed run's id, status); None for a plain run


class Tracker(Protocol):
    # --- the run (called by mer4d.train.experiment) ---
    def start_run(self, loaded: LoadedRecipe) -> str:
        """Open a new run for ``loaded`` (its settings, resolved recipe and provenance recorded); its id."""

    def find_run(self, run_id: str) -> StoredRun:
        """The stored state of run ``run_id``, changing nothing; a TrackingError when there is none."""

    def resume_run(self, run_id: str) -> None:
        """Continue run ``run_id``: it is running again, and later folds and results go to it."""

    def set_data(self, fingerprint: str, description: str) -> None:
        """Record the dataset the run trains on (its fingerprint is what a resume compares)."""

    def log_results(self, result: ProtocolResult) -> None:
        """Record the pooled results of the finished protocol."""

    def resolve_pretrained(self, reference: str) -> Pretrained:
        """The checkpoint ``model.params.init`` names (pretrain:EXPERIMENT, runs:/RUN_ID or a path), as a local file
        with what its pre-training saw; a resumed run gets the checkpoint it started with."""

    def set_pretrained(self, pretrained: Pretrained) -> None:
        """Record which checkpoint the run starts from."""

    def finish_run(self) -> None:
        """Mark the run finished: it can no longer be resumed."""

    def fail_run(self, status: Ending, error: BaseException | None = None) -> None:
        """Mark the fold in progress (if any) and the run ``status``, keeping ``error`` and its traceback."""

    # --- repeats: one protocol per seed (called by mer4d.train.repeats) ---
    def start_repeats(self, loaded: LoadedRecipe, seeds: list[int]) -> str:
        """Open the run holding the seed runs of ``loaded`` (its recipe lists the seeds); its id.
        ``finish_run`` / ``fail_run`` then end it."""

    def seed_tracker(self, seed: int) -> Tracker:
        """A fresh tracker whose ``start_run`` opens seed ``seed``'s run inside the repeats run."""

    def log_repeats(self, result: RepeatsResult) -> None:
        """Record the seeds' summary (mean, sd, interval) and their pooled predictions on the repeats run."""

    # --- the folds (called by mer4d.train.runner) ---
    def completed_folds(self) -> dict[int, FoldOutcome]:
        """Folds finished by an earlier attempt of this run (empty for a new run)."""

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None: ...

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...

    def finish_fold(self, outcome: FoldOutcome) -> None:
        """Record the fold durably; after this returns, a resume must not redo it."""


@contextmanager
def ends_on_failure(tracker) -> Iterator[None]:
    """Inside a started run: Ctrl-C marks it KILLED, any other exception FAILED (with the error); both re-raised."""
    try:
        yield
    except KeyboardInterrupt:
        tracker.fail_run("KILLED")
        raise
    except BaseException as exc:
        tracker.fail_run("FAILED", exc)
        raise


@dataclass
class MemoryTracker:
    """Keeps one run in memory; ``done`` pre-fills finished folds for resume tests.

    Fold-level use (``run_protocol`` alone) needs no run to be started.
    """

    done: dict[int, FoldOutcome] = field(default_factory=dict)
    epochs: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    current: int = -1
    run_id: str | None = None
    status: str | None = None
    recipe_yaml: str | None = None
    fingerprint: str | None = None
    description: str | None = None
    result: ProtocolResult | None = None
    error: str | None = None
    failed_folds: dict[int, str] = field(default_factory=dict)
    pretrained: Pretrained | None = None
    seeds: list[int] | None = None  # a repeats run: its seeds, their trackers and the summary
    seed_runs: dict[int, MemoryTracker] = field(default_factory=dict)
    repeats: RepeatsResult | None = None
    seed: int | None = None  # a seed run: its seed

    def start_run(self, loaded: LoadedRecipe) -> str:
        from mer4d.recipes.load import recipe_to_yaml

        name = f"memory-{loaded.recipe.name}" + ("" if self.seed is None else f"-seed{self.seed}")
        self.run_id, self.status, self.recipe_yaml = name, "RUNNING", recipe_to_yaml(loaded.recipe)
        return self.run_id

    def find_run(self, run_id: str) -> StoredRun:
        from mer4d.core.errors import TrackingError

        if run_id != self.run_id or self.status is None or self.recipe_yaml is None:
            raise TrackingError(f"--resume {run_id}: no such run in this MemoryTracker (it holds {self.run_id or 'no run'})")
        repeats = None if self.seeds is None else {s: (t.run_id or "", t.status or "NOT STARTED") for s, t in self.seed_runs.items()}
        return StoredRun(self.status, self.recipe_yaml, self.fingerprint, repeats)

    def resume_run(self, run_id: str) -> None:
        self.status = "RUNNING"

    def start_repeats(self, loaded: LoadedRecipe, seeds: list[int]) -> str:
        self.start_run(loaded)
        self.run_id, self.seeds = f"memory-{loaded.recipe.name}-repeats", list(seeds)
        return self.run_id

    def seed_tracker(self, seed: int) -> MemoryTracker:
        self.seed_runs[seed] = MemoryTracker(seed=seed)
        return self.seed_runs[seed]

    def log_repeats(self, result: RepeatsResult) -> None:
        self.repeats = result

    def set_data(self, fingerprint: str, description: str) -> None:
        self.fingerprint, self.description = fingerprint, description

    def log_results(self, result: ProtocolResult) -> None:
        self.result = result

    def finish_run(self) -> None:
        self.status = "FINISHED"

    def fail_run(self, status: Ending, error: BaseException | None = None) -> None:
        if self.current >= 0 and self.current not in self.done:
            self.failed_folds[self.current] = status
        self.current = -1
        self.status = status
        if error is not None:
            self.error = f"{type(error).__name__}: {error}"

    def resolve_pretrained(self, reference: str) -> Pretrained:
        from mer4d.train.pretrained import local_pretrained

        return local_pretrained(reference)  # no store: a checkpoint file only

    def set_pretrained(self, pretrained: Pretrained) -> None:
        self.pretrained = pretrained

    def completed_folds(self) -> dict[int, FoldOutcome]:
        return dict(self.done)

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        self.current = number
        self.epochs[number] = []

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs[self.current].append({"epoch": epoch, **metrics})

    def finish_fold(self, outcome: FoldOutcome) -> None:
        self.done[outcome.number] = outcome
