"""Training batches: one global order per epoch, the same in every process, cut into shares.

``train.batch_size`` is the *global* batch: with N data-parallel processes each optimiser step
still averages the loss over ``batch_size`` clips, the same clips one process would put in that
batch. Every process draws the epoch's order from the same seeded generator (so the orders agree
without communication) and takes a contiguous share of every batch (:func:`split`: sizes differ
by at most one, so ``batch_size`` need not divide by N). Its loss is weighted by
``share * N / batch`` (:attr:`Part.weight`), so DistributedDataParallel's gradient *average*
over processes is the gradient of the global batch mean: for a mean loss,
``(1/N) * sum_r (n_r N / n) * grad mean_r = sum_r grad sum_r / n = grad mean``.

A process whose share of a batch is empty (the last batch holding fewer clips than processes)
still runs the step, on the batch's first clip with weight 0, because every process must take
part in each gradient all-reduce.

Random draws made per clip of a batch (augmentations, dropout masks) are drawn for the whole
global batch in every process and cut to the process's rows (:attr:`Part.rows`), so they match
one process's draws exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import BatchSampler, Sampler

from mer4d.train.distributed import World


def split(total: int, processes: int, rank: int) -> tuple[int, int]:
    """Rows [start, stop) of ``total`` that process ``rank`` of ``processes`` takes: contiguous
    shares, the first ``total % processes`` one row longer."""
    base, extra = divmod(total, processes)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


@dataclass(frozen=True)
class Part:
    """This process's rows [start, stop) of a global batch of ``total`` clips, among ``processes``."""

    start: int
    stop: int
    total: int
    processes: int = 1

    @classmethod
    def whole(cls, total: int) -> Part:
        return cls(0, total, total, 1)

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def rows(self) -> slice:
        """The rows of a global-batch draw that belong to the clips this process holds (an empty
        share holds the stand-in first clip, see the module docstring)."""
        return slice(self.start, self.stop) if self.size else slice(0, 1)

    @property
    def weight(self) -> float:
        """Factor of this process's mean loss so that DDP's average is the global batch mean."""
        return self.size * self.processes / self.total


class EpochOrder(Sampler[int]):
    """``inner``'s order (a RandomSampler or WeightedRandomSampler on ``generator``), drawn afresh
    each epoch.

    Before each epoch it makes one int64 draw from ``generator``: the draw DataLoader made for its
    worker seeds when it shared this generator (before data-parallel training), kept so a recipe
    trains exactly as before. The DataLoader now has a generator of its own, so its worker seeds
    (drawn once with persistent workers, each epoch without) never shift the order, and
    ``train.workers`` cannot change a result.
    """

    def __init__(self, inner: Sampler[int], generator: torch.Generator):
        self.inner = inner
        self.generator = generator

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        yield from self.inner


class ShardedBatches(Sampler[list[int]]):
    """The epoch's global batches of ``batch_size`` (the last one shorter), each cut to the
    share of process ``world.rank``; one process gets the whole batches."""

    def __init__(self, order: Sampler[int], batch_size: int, world: World):
        self.order = order
        self.batch_size = batch_size
        self.world = world

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in BatchSampler(self.order, self.batch_size, drop_last=False):
            start, stop = split(len(batch), self.world.size, self.world.rank)
            yield batch[start:stop] if stop > start else batch[:1]

    def parts(self) -> list[Part]:
        """Each batch's :class:`Part`, in the order :meth:`__iter__` yields them."""
        n, b = len(self.order), self.batch_size  # type: ignore[arg-type]
        totals = [b] * (n // b) + ([n % b] if n % b else [])
        return [Part(*split(t, self.world.size, self.world.rank), t, self.world.size) for t in totals]


class Cursor:
    """The :class:`Part` of the batch being trained, read by :class:`ShardDropout`."""

    part: Part | None = None


class ShardDropout(nn.Module):
    """``nn.Dropout`` for a process's share of a global batch: the mask is drawn for the whole
    batch, as one process's ``nn.Dropout`` draws it (``bernoulli_(1 - p)`` on a tensor of the
    batch's shape, then ``/ (1 - p)``, PyTorch's CPU dropout), and cut to this process's rows. The
    processes' generators are seeded alike and draw alike, so together they apply one process's
    masks exactly on the CPU. (CUDA's fused dropout kernel draws differently: there the masks
    are a correct dropout of the global batch, not the one process's bits.)"""

    def __init__(self, p: float, cursor: Cursor):
        super().__init__()
        self.p = p
        self.cursor = cursor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        part = self.cursor.part
        if not self.training or self.p == 0 or part is None:
            return x
        if self.p == 1:
            return x * 0
        held = max(part.size, 1)
        per_clip, rest = divmod(x.shape[0], held)  # rows per clip: 1, or the views of a multi-view model folded into B (b-major)
        if rest or not per_clip:
            return nn.functional.dropout(x, self.p, True)  # not rows of clips: a plain (still correct) dropout
        noise = torch.empty((part.total * per_clip, *x.shape[1:]), dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
        noise.div_(1 - self.p)
        rows = part.rows
        return x * noise[rows.start * per_clip : rows.stop * per_clip]


def shard_dropout(model: nn.Module, cursor: Cursor) -> list[tuple[nn.Module, str, nn.Module]]:
    """Replace every ``nn.Dropout`` of ``model`` by a :class:`ShardDropout` reading ``cursor``;
    returns what :func:`restore` puts back."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, ShardDropout(child.p, cursor))
                swapped.append((parent, name, child))
    return swapped


def restore(swapped: list[tuple[nn.Module, str, nn.Module]]) -> None:
    for parent, name, child in swapped:
        setattr(parent, name, child)
