"""Global batches cut into per-process shares (mer4d.train.batches), checked in one process
against what one process does: torch's own DataLoader order, the full-batch gradient, the
full-batch dropout masks and augmentations. The torchrun end-to-end check is test_ddp.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset, WeightedRandomSampler

from mer4d.models import build_model
from mer4d.recipes.schema import TrainCfg
from mer4d.train.augment import Augment
from mer4d.train.batches import Cursor, EpochOrder, Part, ShardDropout, ShardedBatches, restore, shard_dropout, split
from mer4d.train.distributed import World


@pytest.mark.parametrize("total", [0, 1, 2, 5, 16, 17])
@pytest.mark.parametrize("processes", [1, 2, 3, 4])
def test_split_gives_each_row_to_exactly_one_process_in_near_equal_contiguous_shares(total, processes):
    shares = [split(total, processes, r) for r in range(processes)]
    rows = [i for start, stop in shares for i in range(start, stop)]
    assert rows == list(range(total))  # contiguous, in rank order, each row once
    sizes = [stop - start for start, stop in shares]
    assert max(sizes) - min(sizes) <= 1


def test_weights_make_the_average_over_processes_the_global_mean():
    # DDP averages the processes' gradients; with each mean loss weighted by Part.weight, the
    # average of the weighted means equals the mean over the whole batch (losses: any numbers).
    losses = torch.tensor([0.3, 1.7, 0.2, 2.5, 0.9])
    for processes in (1, 2, 3, 4, 6):
        parts = [Part(*split(5, processes, r), 5, processes) for r in range(processes)]
        weighted = [p.weight * losses[p.start : p.stop].mean() if p.size else torch.tensor(0.0) for p in parts]
        assert float(sum(weighted) / processes) == pytest.approx(float(losses.mean()), rel=1e-6)


def old_loader_batches(data, batch_size: int, seed: int, epochs: int, uniform: np.ndarray | None = None) -> list[list[int]]:
    """The batches of the loader the engine built before data-parallel training: torch's
    DataLoader sharing one generator with its sampler (the reference order)."""
    generator = torch.Generator().manual_seed(seed)
    sampler = None if uniform is None else WeightedRandomSampler(torch.as_tensor(uniform, dtype=torch.double), len(data), True, generator=generator)
    loader = DataLoader(data, batch_size=batch_size, shuffle=sampler is None, sampler=sampler, generator=generator)
    return [batch[0].tolist() for _ in range(epochs) for batch in loader]


def new_batches(data, batch_size: int, seed: int, epochs: int, world: World, uniform: np.ndarray | None = None) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    order = RandomSampler(data, generator=generator) if uniform is None else \
        WeightedRandomSampler(torch.as_tensor(uniform, dtype=torch.double), len(data), True, generator=generator)
    batches = ShardedBatches(EpochOrder(order, generator), batch_size, world)
    return [list(b) for _ in range(epochs) for b in batches]


@pytest.mark.parametrize("uniform", [False, True])
def test_one_process_draws_the_order_torchs_dataloader_drew(uniform):
    data = TensorDataset(torch.arange(23))
    weights = np.linspace(1, 3, 23) if uniform else None
    assert new_batches(data, 5, 7, 3, World(), weights) == old_loader_batches(data, 5, 7, 3, weights)


@pytest.mark.parametrize("processes", [2, 3])
def test_the_shares_of_every_process_make_up_the_one_process_batches(processes):
    data = TensorDataset(torch.arange(21))  # batches of 5: the last holds 1 clip, so some shares are empty
    whole = new_batches(data, 5, 3, 2, World())
    shares = [new_batches(data, 5, 3, 2, World(r, processes)) for r in range(processes)]
    assert all(len(s) == len(whole) == 2 * 5 for s in shares)  # every process takes part in every step
    for k, batch in enumerate(whole):
        part_sizes = [Part(*split(len(batch), processes, r), len(batch), processes).size for r in range(processes)]
        rebuilt = [i for r in range(processes) if part_sizes[r] for i in shares[r][k]]
        assert rebuilt == batch
        for r in range(processes):  # an empty share holds the batch's first clip as a stand-in
            if not part_sizes[r]:
                assert shares[r][k] == batch[:1]


def test_parts_list_each_batch_share_in_the_order_of_the_batches():
    data = TensorDataset(torch.arange(11))
    for rank in range(3):
        batches = ShardedBatches(RandomSampler(data, generator=torch.Generator().manual_seed(0)), 4, World(rank, 3))
        parts = batches.parts()
        assert [p.total for p in parts] == [4, 4, 3]
        assert [len(b) for b in batches] == [max(p.size, 1) for p in parts]


def test_shard_dropout_applies_one_process_dropout_masks_exactly():
    x = torch.randn(7, 12)
    torch.manual_seed(11)
    reference = nn.Dropout(0.3).train()(x)
    cursor = Cursor()
    layer = ShardDropout(0.3, cursor).train()
    for processes in (1, 2, 3):
        pieces = []
        for rank in range(processes):  # every process starts from the same seeded generator
            torch.manual_seed(11)
            cursor.part = Part(*split(7, processes, rank), 7, processes)
            pieces.append(layer(x[cursor.part.start : cursor.part.stop]))
        assert torch.equal(torch.cat(pieces), reference)
    assert torch.equal(layer.eval()(x), x)


def test_shard_dropout_follows_views_folded_into_the_batch():
    x = torch.randn(6 * 3, 4)  # 6 clips x 3 views, b-major, as CCDN folds them
    torch.manual_seed(2)
    reference = nn.Dropout(0.5).train()(x)
    cursor = Cursor()
    layer = ShardDropout(0.5, cursor).train()
    torch.manual_seed(2)
    cursor.part = Part(2, 4, 6, 3)
    assert torch.equal(layer(x[6:12]), reference[6:12])


def test_sharded_training_step_has_the_one_process_gradient():
    # What DDP computes, without processes: the average over processes of the gradients of the
    # weighted share losses, against the gradient of the one-process batch loss.
    torch.manual_seed(0)
    model = build_model("tiny3d", num_classes=3, in_channels=1, width=2, dropout=0.25)
    clips, targets = torch.randn(5, 1, 3, 8, 8), torch.tensor([0, 1, 2, 1, 0])
    loss_fn = nn.CrossEntropyLoss()

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    cursor = Cursor()
    swapped = shard_dropout(model, cursor)
    model.train()
    torch.manual_seed(5)
    cursor.part = Part.whole(5)
    reference = grads(loss_fn(model(clips), targets))
    for processes in (2, 3):
        total = [torch.zeros_like(g) for g in reference]
        for rank in range(processes):
            torch.manual_seed(5)
            cursor.part = part = Part(*split(5, processes, rank), 5, processes)
            for t, g in zip(total, grads(part.weight * loss_fn(model(clips[part.start : part.stop]), targets[part.start : part.stop])), strict=True):
                t += g / processes
        for t, g in zip(total, reference, strict=True):
            torch.testing.assert_close(t, g, rtol=1e-5, atol=1e-7)
    restore(swapped)
    assert type(model.dropout) is nn.Dropout


def test_augmentations_of_the_shares_are_those_of_the_whole_batch():
    cfg = TrainCfg(hflip=True, crop=8)
    clips = torch.randn(5, 1, 2, 11, 11)
    reference = Augment.from_cfg(cfg, 9).train(clips)
    for processes in (2, 3):
        pieces = []
        for rank in range(processes):
            part = Part(*split(5, processes, rank), 5, processes)
            pieces.append(Augment.from_cfg(cfg, 9).train(clips[part.start : part.stop], part))
        assert torch.equal(torch.cat(pieces), reference)
