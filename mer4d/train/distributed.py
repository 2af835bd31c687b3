"""Data-parallel training over the processes ``torchrun`` starts (DESIGN §9).

``torchrun --nproc_per_node N -m mer4d run RECIPE`` starts N copies of ``mer4d run``, each with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in its environment. :func:`start` joins them into one
process group (gloo on the CPU, NCCL on CUDA, one GPU per process: ``cuda:LOCAL_RANK``); without
those variables (a plain ``mer4d run``) nothing changes and :func:`world` is one process.

What each process does (the same code runs in every one; :func:`world` says which it is):

- every process builds the same corpus, folds and model (seeded alike), and trains each fold on
  its share of every global batch (:mod:`mer4d.train.batches`); DistributedDataParallel sums the
  gradients, so each optimiser step is the one process's step on the whole batch;
- process 0 (rank 0) alone talks to the tracker; the others follow its answers (which run, which
  folds are already done: :class:`mer4d.train.shared_tracker.SharedTracker`);
- validation losses are summed over the processes and rank 0's value is shared, so every process
  takes the same early-stopping decision; rank 0 alone predicts the test clips, with the plain
  module, and shares the scores, so every process holds the same fold results.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mer4d.core.errors import Mer4dError, RecipeError

log = logging.getLogger(__name__)
T = TypeVar("T")
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None  # gloo or nccl once :func:`start` joined the group

    @property
    def main(self) -> bool:
        """Rank 0: the process that tracks, predicts the test clips and prints."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


_WORLD = World()
_WARNED: set[str] = set()


def world() -> World:
    """The processes this one trains with (set by :func:`start`)."""
    return _WORLD


def env_world(environ: Mapping[str, str] | None = None) -> World | None:
    """The world torchrun describes in ``environ`` (default ``os.environ``); None outside torchrun."""
    environ = os.environ if environ is None else environ
    present = [k for k in ENV_KEYS if k in environ]
    if not present:
        return None
    if len(present) < len(ENV_KEYS):
        missing = ", ".join(k for k in ENV_KEYS if k not in environ)
        raise RecipeError(f"the environment sets {', '.join(present)} but not {missing}: start data-parallel runs with "
                          "'torchrun --nproc_per_node N -m mer4d run RECIPE' (which sets all three), or unset them for one process")
    try:
        rank, size, local = (int(environ[k]) for k in ENV_KEYS)
    except ValueError:
        raise RecipeError(f"torchrun variables must be integers, got {', '.join(f'{k}={environ[k]!r}' for k in ENV_KEYS)}") from None
    if size < 1 or not 0 <= rank < size or local < 0:
        raise RecipeError(f"inconsistent torchrun variables RANK={rank}, WORLD_SIZE={size}, LOCAL_RANK={local}: need 0 <= RANK < WORLD_SIZE")
    return World(rank, size, local)


def start(device: str) -> World:
    """Join torchrun's process group when this process is one of several; ``device`` is
    ``train.device`` (auto / cpu / cuda): CUDA gets NCCL and the GPU ``LOCAL_RANK``, the CPU gloo."""
    global _WORLD
    found = env_world()
    if found is None or not found.parallel:
        _WORLD = World()
        return _WORLD
    import torch.distributed as dist

    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise RecipeError("train.device=cuda, but torch sees no CUDA device; use train.device=auto or cpu")
    if cuda:
        if found.local_rank >= torch.cuda.device_count():
            raise RecipeError(f"process LOCAL_RANK={found.local_rank} has no GPU of its own (torch sees {torch.cuda.device_count()}); "
                              "start at most one process per GPU (torchrun --nproc_per_node <= the GPU count)")
        torch.cuda.set_device(found.local_rank)
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    _WORLD = World(found.rank, found.size, found.local_rank, backend)
    return _WORLD


def stop() -> None:
    """Leave the process group (a no-op for one process)."""
    global _WORLD
    if _WORLD.parallel:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _WORLD = World()


def _comm_device() -> torch.device:
    # NCCL moves CUDA tensors only; gloo CPU tensors.
    return torch.device("cuda", _WORLD.local_rank) if _WORLD.backend == "nccl" else torch.device("cpu")


def share(value: T) -> T:
    """Rank 0's ``value`` in every process (any picklable object; one process: ``value``)."""
    if not _WORLD.parallel:
        return value
    import torch.distributed as dist

    box = [value if _WORLD.main else None]
    dist.broadcast_object_list(box, src=0, device=_comm_device())
    return box[0]


def on_main(compute: Callable[[], T]) -> T:
    """``compute()`` run by rank 0 alone, its result (or its error) shared with every process, so
    no process waits forever for a rank 0 that failed."""
    if not _WORLD.parallel:
        return compute()
    outcome: tuple[bool, object] = (True, None)
    error: BaseException | None = None
    if _WORLD.main:
        try:
            outcome = (True, compute())
        except Exception as exc:  # shared, then re-raised below with its traceback on rank 0
            error = exc
            outcome = (False, _portable(exc))
    ok, value = share(outcome)
    if ok:
        return value  # type: ignore[return-value]
    raise error if error is not None else value  # type: ignore[misc]


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a Mer4dError carrying its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return Mer4dError(f"rank 0 failed: {type(exc).__name__}: {exc}")


def sum_across(values: list[float]) -> list[float]:
    """Each value summed over the processes (float64), rank 0's sums in every process."""
    if not _WORLD.parallel:
        return list(values)
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.all_reduce(tensor)
    return share(tensor.cpu().tolist())


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. building a dataset cache), the other processes after it
    (then reading the cache), so no two processes write the same files at once."""
    if not _WORLD.parallel:
        yield
        return
    import torch.distributed as dist

    if not _WORLD.main:
        dist.barrier()
    try:
        yield
    finally:
        if _WORLD.main:
            dist.barrier()


class Replica(DistributedDataParallel):
    """DistributedDataParallel that reads the wrapped model's attributes a training loss asks for
    (``alpha``, ``view_loss_weight``, ...), so losses work the same on a model and on its replica."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module" or name.startswith("_"):  # DDP's own state (and no recursion while it is built)
                raise
            return getattr(self.module, name)


def replicate(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel (one process: ``model`` itself).

    BatchNorm layers become SyncBatchNorm on CUDA, so a batch's statistics are those of the
    global batch, as in one process. SyncBatchNorm needs CUDA (PyTorch refuses CPU tensors), so
    on the CPU each process normalises with its own share of the batch: results then differ from
    one process by more than float noise (a warning says so).
    """
    if not _WORLD.parallel:
        return model
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    if has_bn and device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(model)  # replaces the BN children in place
    elif has_bn and _WORLD.main and not _WARNED:
        _WARNED.add("batchnorm")  # once per run, not once per fold
        log.warning("this model has BatchNorm layers and the processes train on the CPU, where PyTorch has no SyncBatchNorm: each process "
                    "normalises with its share of the batch, so the results differ from one process by more than float noise")
    ids = [device.index if device.index is not None else _WORLD.local_rank] if device.type == "cuda" else None
    return Replica(model, device_ids=ids, output_device=ids[0] if ids else None)
