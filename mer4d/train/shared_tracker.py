"""A tracker for data-parallel runs: rank 0 talks to the real tracker, every process follows.

Under torchrun every process runs the same experiment code and so calls the same
:class:`~mer4d.train.tracker.Tracker` methods in the same order. :class:`SharedTracker` makes that
one run: on rank 0 it forwards each call to the real tracker (MLflow); a call that answers
something (the new run's id, the stored run a resume checks, the folds already finished, the
pre-trained checkpoint) is answered by rank 0 and the answer shared with every process
(:func:`mer4d.train.distributed.on_main`, errors included), so all processes skip the same folds
and resume the same run. Calls that only record (epochs, folds, results, the run's end) do
nothing outside rank 0. Hence one parent run per ``torchrun ... mer4d run``, not one per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mer4d.train.distributed import on_main, world
from mer4d.train.tracker import Ending, FoldOutcome, StoredRun, Tracker

if TYPE_CHECKING:
    from mer4d.recipes.load import LoadedRecipe
    from mer4d.train.pretrained import Pretrained
    from mer4d.train.repeats import RepeatsResult
    from mer4d.train.runner import ProtocolResult


class SharedTracker:
    """``inner`` (rank 0's real tracker; None in the other processes) shared by every process."""

    def __init__(self, inner: Tracker | None):
        if world().main and inner is None:
            raise ValueError("SharedTracker: rank 0 needs the real tracker")
        self.inner = inner if world().main else None

    # answered by rank 0, the answer shared
    def start_run(self, loaded: LoadedRecipe) -> str:
        return on_main(lambda: self.inner.start_run(loaded))

    def find_run(self, run_id: str) -> StoredRun:
        return on_main(lambda: self.inner.find_run(run_id))

    def resolve_pretrained(self, reference: str) -> Pretrained:
        # the checkpoint is a file on rank 0's machine (its cache): one machine, or a shared disk
        return on_main(lambda: self.inner.resolve_pretrained(reference))

    def start_repeats(self, loaded: LoadedRecipe, seeds: list[int]) -> str:
        return on_main(lambda: self.inner.start_repeats(loaded, seeds))

    def completed_folds(self) -> dict[int, FoldOutcome]:
        return on_main(lambda: self.inner.completed_folds())

    def seed_tracker(self, seed: int) -> SharedTracker:
        return SharedTracker(self.inner.seed_tracker(seed) if self.inner is not None else None)

    # recorded by rank 0 only
    def resume_run(self, run_id: str) -> None:
        if self.inner is not None:
            self.inner.resume_run(run_id)

    def set_data(self, fingerprint: str, description: str) -> None:
        if self.inner is not None:
            self.inner.set_data(fingerprint, description)

    def log_results(self, result: ProtocolResult) -> None:
        if self.inner is not None:
            self.inner.log_results(result)

    def set_pretrained(self, pretrained: Pretrained) -> None:
        if self.inner is not None:
            self.inner.set_pretrained(pretrained)

    def finish_run(self) -> None:
        if self.inner is not None:
            self.inner.finish_run()

    def fail_run(self, status: Ending, error: BaseException | None = None) -> None:
        if self.inner is not None:
            self.inner.fail_run(status, error)

    def log_repeats(self, result: RepeatsResult) -> None:
        if self.inner is not None:
            self.inner.log_repeats(result)

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        if self.inner is not None:
            self.inner.start_fold(number, name, info)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.inner is not None:
            self.inner.log_epoch(epoch, metrics)

    def finish_fold(self, outcome: FoldOutcome) -> None:
        if self.inner is not None:
            self.inner.finish_fold(outcome)
