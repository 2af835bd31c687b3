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
from torch.utils.data import DataLoader, WeightedRandomSampler

from mer4d.core.errors import RecipeError
from mer4d.core.progress import progress_bar
from mer4d.losses import TRAINING_LOSSES, TrainingLoss, class_balanced_loss, task_loss, task_only
from mer4d.recipes.schema import TrainCfg
from mer4d.train.augment import Augment, centre_crop
from mer4d.train.clipset import ClipSet

EpochCallback = Callable[[int, dict[str, float]], None]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a fold's result depends only on (recipe, fold index)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise RecipeError("train.device=cuda, but torch sees no CUDA device; use train.device=auto or cpu")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


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


def make_loader(data: ClipSet, cfg: TrainCfg, seed: int, train: bool) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if train and cfg.resample == "uniform":
        if data.targets.ndim != 1:
            raise RecipeError("train.resample=uniform balances single-label classes; it does not apply to multi-label tasks")
        counts = np.bincount(data.targets)
        weights = 1.0 / counts[data.targets]
        sampler = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), len(data), replacement=True, generator=generator)
    return DataLoader(
        data,
        batch_size=cfg.batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=cfg.workers,
        drop_last=False,
    )


def _run_epoch(model, loader, loss_fn, device, augment: Augment, epoch: int = 0, optimizer=None, scaler=None, amp=False,
               batch_loss: TrainingLoss = task_only) -> float:
    """One pass over ``loader``: training with ``optimizer``, else evaluation. ``batch_loss``
    computes a batch's loss from the model and the batch (the model's declared training loss in
    training; the task loss on the logits in validation)."""
    training = optimizer is not None
    model.train(training)
    total, count = 0.0, 0
    with torch.set_grad_enabled(training):
        for clips, targets, *aux in loader:
            clips = augment.train(clips) if training else augment.evaluate(clips)
            clips, targets = clips.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            aux = [a.to(device, non_blocking=True) for a in aux]
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                loss = batch_loss(model, clips, targets, aux[0] if aux else None, epoch, loss_fn)
            if training:
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            total += float(loss.detach()) * len(clips)
            count += len(clips)
    return total / max(count, 1)


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
) -> FitResult:
    """Train ``model`` in place (``num_classes``: the model's outputs, for ``class_weight``).

    ``training_loss`` names the model's declared training loss in :data:`mer4d.losses.TRAINING_LOSSES`
    (``ModelInfo.training_loss``); validation always uses the task loss on the logits.
    Without ``val_set`` it trains exactly ``cfg.epochs`` epochs. With one, it keeps the weights
    of the epoch with the lowest validation loss and stops after ``cfg.patience`` epochs
    without improvement.
    """
    train_loss = TRAINING_LOSSES.get(training_loss)
    device = pick_device(cfg.device)
    amp = cfg.amp and device.type == "cuda"
    model.to(device)
    targets = train_set.targets
    loss_fn = make_loss(cfg, targets, num_classes).to(device)
    optimizer = make_optimizer(model, cfg)
    schedule = make_schedule(optimizer, cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    loader = make_loader(train_set, cfg, seed, train=True)
    augment = Augment.from_cfg(cfg, seed)
    val_loader = make_loader(val_set, cfg, seed, train=False) if val_set is not None else None
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state, stale = float("inf"), cfg.epochs, None, 0
    bar = progress_bar(range(1, cfg.epochs + 1), desc=desc, leave=False, disable=not progress, unit="epoch")
    for epoch in bar:
        lr = optimizer.param_groups[0]["lr"]
        record = {"train_loss": _run_epoch(model, loader, loss_fn, device, augment, epoch, optimizer, scaler, amp, train_loss), "lr": lr}
        if schedule is not None:
            schedule.step()
        if val_loader is not None:
            record["val_loss"] = _run_epoch(model, val_loader, loss_fn, device, augment, epoch, amp=amp)
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
def predict(model: nn.Module, data: ClipSet, cfg: TrainCfg, multilabel: bool) -> np.ndarray:
    """Class probabilities (N, K): softmax for single-label, sigmoid for multi-label tasks."""
    device = pick_device(cfg.device)
    model.to(device).eval()
    chunks = []
    for clips, *_ in make_loader(data, cfg, seed=0, train=False):
        clips = clips if cfg.crop is None else centre_crop(clips, cfg.crop)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=cfg.amp and device.type == "cuda"):
            logits = model(clips.to(device)).float()
        chunks.append((torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)).cpu().numpy())
    return np.concatenate(chunks).astype(np.float64)
