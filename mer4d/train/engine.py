"""Fit and evaluate one fold: a fixed epoch budget, or early stopping on an inner validation set.

The test fold never reaches this module's training loop: ``fit`` sees only training (and inner
validation) clips, and ``predict`` is called on the test clips once, after training is over.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, Subset, WeightedRandomSampler

from mer4d.core.errors import RecipeError
from mer4d.core.progress import progress_bar
from mer4d.losses import TRAINING_LOSSES, TrainingLoss, class_balanced_loss, task_loss, task_only
from mer4d.recipes.schema import TrainCfg
from mer4d.train import distributed
from mer4d.train.augment import Augment, centre_crop
from mer4d.train.batches import Cursor, EpochOrder, Part, ShardedBatches, restore, shard_dropout, split
from mer4d.train.clipset import ClipSet
from mer4d.train.distributed import World
from mer4d.train.speed import Precision, channels_last_input, loader_options, to_channels_last

EpochCallback = Callable[[int, dict[str, float]], None]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a fold's result depends only on (recipe, fold index)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(setting: str) -> torch.device:
    """``train.device``: auto = CUDA when torch sees it; under torchrun on CUDA, the process's GPU (LOCAL_RANK)."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise RecipeError("train.device=cuda, but torch sees no CUDA device; use train.device=auto or cpu")
    cuda = setting == "cuda" or (setting == "auto" and torch.cuda.is_available())
    if cuda and distributed.world().parallel:
        return torch.device("cuda", distributed.world().local_rank)
    return torch.device("cuda" if cuda else "cpu")


@dataclass(frozen=True)
class FitResult:
    epochs_run: int
    best_epoch: int  # the epoch whose weights were kept (the last one without early stopping)
    history: list[dict[str, float]]


def make_loss(cfg: TrainCfg, targets: np.ndarray, num_outputs: int) -> nn.Module:
    """The recipe's task loss (``train.loss``, ``train.class_weight``) weighted from the *training*
    targets only; see :func:`mer4d.losses.task_loss` and :func:`mer4d.losses.class_balanced_loss`."""
    loss = cfg.loss
    if loss.name in ("class_balanced", "class_balanced_focal"):
        return class_balanced_loss(loss.name, loss.variant, loss.beta, loss.gamma, targets, num_outputs)
    return task_loss(loss.name, cfg.class_weight, targets, num_outputs)


def make_optimizer(model: nn.Module, cfg: TrainCfg) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_schedule(optimizer: torch.optim.Optimizer, cfg: TrainCfg) -> torch.optim.lr_scheduler.LRScheduler | None:
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    return None


def make_loader(data: Dataset, cfg: TrainCfg, seed: int, train: bool, device: torch.device | None = None, world: World | None = None) -> DataLoader:
    """Batches of ``data``: in training, this process's shares (:mod:`mer4d.train.batches`) of the
    epoch's global batches in a seeded random order (``train.resample=uniform``: classes drawn
    equally often); in evaluation, ``data`` in order. ``train.workers`` loads in parallel
    (:func:`mer4d.train.speed.loader_options`, pinned memory when ``device`` is CUDA)."""
    options = loader_options(cfg.workers, device or torch.device("cpu"))
    if not train:
        return DataLoader(data, batch_size=cfg.batch_size, shuffle=False, generator=torch.Generator().manual_seed(seed), drop_last=False, **options)
    generator = torch.Generator().manual_seed(seed)
    if cfg.resample == "uniform":
        if data.targets.ndim != 1:
            raise RecipeError("train.resample=uniform balances single-label classes; it does not apply to multi-label tasks")
        counts = np.bincount(data.targets)
        weights = 1.0 / counts[data.targets]
        order: Sampler[int] = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), len(data), replacement=True, generator=generator)
    else:
        order = RandomSampler(data, generator=generator)
    batches = ShardedBatches(EpochOrder(order, generator), cfg.batch_size, world or World())
    # its own generator: the workers' seeds, drawn apart from the order (see EpochOrder)
    return DataLoader(data, batch_sampler=batches, generator=torch.Generator().manual_seed(seed), **options)


def _to_device(clips: torch.Tensor, device: torch.device, layout: str, channels_last: bool) -> torch.Tensor:
    clips = clips.to(device, non_blocking=True)
    return channels_last_input(clips, layout) if channels_last else clips


def _train_epoch(replica: nn.Module, loader: DataLoader, parts: list[Part], step: _Step, augment: Augment, epoch: int, cursor: Cursor) -> tuple[float, int]:
    """One training pass; (sum of the batch losses times their clips, clips) of this process."""
    replica.train()
    total, count = 0.0, 0
    for (clips, targets, *aux), part in zip(loader, parts, strict=True):
        clips = step.move(augment.train(clips, part))
        targets, aux = targets.to(step.device, non_blocking=True), [a.to(step.device, non_blocking=True) for a in aux]
        cursor.part = part
        with step.precision.autocast(step.device):
            loss = step.batch_loss(replica, clips, targets, aux[0] if aux else None, epoch, step.loss_fn)
        step.optimizer.zero_grad(set_to_none=True)
        step.scaler.scale(loss if part.processes == 1 else loss * part.weight).backward()
        step.scaler.step(step.optimizer)
        step.scaler.update()
        total += float(loss.detach()) * part.size
        count += part.size
    cursor.part = None
    return total, count


@torch.no_grad()
def _evaluate_loss(model: nn.Module, loader: DataLoader, step: _Step, augment: Augment, epoch: int) -> tuple[float, int]:
    """The task loss on ``loader``'s clips: (sum of batch losses times their clips, clips)."""
    model.eval()
    total, count = 0.0, 0
    for clips, targets, *aux in loader:
        clips, targets = step.move(augment.evaluate(clips)), targets.to(step.device, non_blocking=True)
        aux = [a.to(step.device, non_blocking=True) for a in aux]
        with step.precision.autocast(step.device):
            loss = task_only(model, clips, targets, aux[0] if aux else None, epoch, step.loss_fn)
        total += float(loss.detach()) * len(clips)
        count += len(clips)
    return total, count


@dataclass(frozen=True)
class _Step:
    """What a training or evaluation pass needs besides the data."""

    device: torch.device
    precision: Precision
    loss_fn: nn.Module
    batch_loss: TrainingLoss
    optimizer: torch.optim.Optimizer | None
    scaler: torch.amp.GradScaler | None
    layout: str
    channels_last: bool

    def move(self, clips: torch.Tensor) -> torch.Tensor:
        return _to_device(clips, self.device, self.layout, self.channels_last)


def fit(
    model: nn.Module,
    train_set: ClipSet,
    cfg: TrainCfg,
    *,
    seed: int,
    val_set: ClipSet | None = None,
    on_epoch: EpochCallback | None = None,
    progress: bool = True,
    desc: str = "epochs",
    num_classes: int,
    training_loss: str = "task",
    layout: str = "B C T H W",
) -> FitResult:
    """Train ``model`` in place (``num_classes``: the model's outputs, for ``class_weight``;
    ``layout``: its declared input layout, for ``train.channels_last``).

    ``training_loss`` names the model's declared training loss in :data:`mer4d.losses.TRAINING_LOSSES`
    (``ModelInfo.training_loss``); validation always uses the task loss on the logits.
    Without ``val_set`` it trains exactly ``cfg.epochs`` epochs. With one, it keeps the weights
    of the epoch with the lowest validation loss and stops after ``cfg.patience`` epochs
    without improvement.

    Under torchrun (:mod:`mer4d.train.distributed`) every process trains its share of each
    global batch on a DistributedDataParallel replica; the losses recorded and the validation
    loss deciding early stopping are summed over the processes, so all stop at the same epoch.
    """
    world = distributed.world()
    device = pick_device(cfg.device)
    precision = Precision.of(cfg.amp, device)
    model.to(device)
    if cfg.channels_last:
        to_channels_last(model)
    targets = train_set.targets
    loss_fn = make_loss(cfg, targets, num_classes).to(device)
    cursor = Cursor()
    swapped = shard_dropout(model, cursor) if world.parallel else []
    try:
        replica = distributed.replicate(model, device)  # before the optimizer: SyncBatchNorm brings new parameters
        optimizer = make_optimizer(model, cfg)
        step = _Step(device, precision, loss_fn, TRAINING_LOSSES.get(training_loss),
                     optimizer, precision.grad_scaler(device), layout, cfg.channels_last)
        return _fit_epochs(model, replica, train_set, val_set, cfg, seed, step, cursor, on_epoch, progress, desc)
    finally:
        restore(swapped)


def _fit_epochs(model, replica, train_set, val_set, cfg: TrainCfg, seed: int, step: _Step, cursor: Cursor, on_epoch, progress: bool, desc: str) -> FitResult:
    world = distributed.world()
    schedule = make_schedule(step.optimizer, cfg)
    loader = make_loader(train_set, cfg, seed, train=True, device=step.device, world=world)
    parts = loader.batch_sampler.parts()
    augment = Augment.from_cfg(cfg, seed)
    val_loader = None
    if val_set is not None:  # each process scores its share of the validation clips; the sums are shared
        val_loader = make_loader(Subset(val_set, range(*split(len(val_set), world.size, world.rank))) if world.parallel else val_set,
                                 cfg, seed, train=False, device=step.device)
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, stale = float("inf"), cfg.epochs, None, 0
    bar = progress_bar(range(1, cfg.epochs + 1), desc=desc, leave=False, disable=not progress, unit="epoch")
    for epoch in bar:
        lr = step.optimizer.param_groups[0]["lr"]
        total, count = distributed.sum_across(list(_train_epoch(replica, loader, parts, step, augment, epoch, cursor)))
        record = {"train_loss": total / max(count, 1), "lr": lr}
        if schedule is not None:
            schedule.step()
        if val_loader is not None:
            total, count = distributed.sum_across(list(_evaluate_loss(model, val_loader, step, augment, epoch)))
            record["val_loss"] = total / max(count, 1)
            if record["val_loss"] < best_loss:
                best_loss, best_epoch, stale = record["val_loss"], epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
        history.append(record)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k != "lr"})
        if on_epoch is not None:
            on_epoch(epoch, record)
        if val_loader is not None and stale >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(epochs_run=len(history), best_epoch=best_epoch if val_loader is not None else len(history), history=history)


@torch.no_grad()
def predict(model: nn.Module, data: ClipSet, cfg: TrainCfg, multilabel: bool, layout: str = "B C T H W") -> np.ndarray:
    """Class probabilities (N, K): softmax for single-label, sigmoid for multi-label tasks."""
    device = pick_device(cfg.device)
    precision = Precision.of(cfg.amp, device)
    model.to(device).eval()
    chunks = []
    for clips, *_ in make_loader(data, cfg, seed=0, train=False, device=device):
        clips = clips if cfg.crop is None else centre_crop(clips, cfg.crop)
        with precision.autocast(device):
            logits = model(_to_device(clips, device, layout, cfg.channels_last)).float()
        chunks.append((torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)).cpu().numpy())
    return np.concatenate(chunks).astype(np.float64)
