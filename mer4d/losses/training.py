"""The training losses models declare by name (``ModelInfo.training_loss``), and the plain one.

A training loss computes one training batch's loss from the model and the batch: it runs the
forward pass itself, because a method-defined loss may need more of the model's outputs than the
logits (AU-graph's AU logits, CCDN's per-view logits). Validation loss is always the task loss on
the logits (``mer4d.train.engine``).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from mer4d.core.registry import Registry


class TrainingLoss(Protocol):
    def __call__(self, model: nn.Module, clips: torch.Tensor, targets: torch.Tensor, au_targets: torch.Tensor | None, epoch: int, task_loss: nn.Module) -> torch.Tensor:
        """The loss of one training batch.

        Args:
            model: the model in training mode.
            clips: the (augmented) input batch on the model's device.
            targets: (B,) class ids or (B, K) multi-hot, what ``task_loss`` takes.
            au_targets: (B, K_au) multi-hot AU targets for models registered with ``learns_aus``, else None.
            epoch: 1-based epoch, for losses with a schedule.
            task_loss: the recipe's loss (:func:`mer4d.losses.task_loss`), already weighted.
        """
        ...


TRAINING_LOSSES: Registry[TrainingLoss] = Registry("training loss")


@TRAINING_LOSSES.register("task")
def task_only(model: nn.Module, clips: torch.Tensor, targets: torch.Tensor, au_targets: torch.Tensor | None, epoch: int, task_loss: nn.Module) -> torch.Tensor:
    """The recipe's loss on the logits, nothing else."""
    return task_loss(model(clips), targets)
