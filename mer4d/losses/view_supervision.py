"""CCDN's training loss: the fused prediction's loss plus each view's own (deep supervision).

Trained only through the fused output, the view branches co-adapt and a weak view can hide
behind a strong one; on the simulator that left the 3-view model below its best single view
(0.191 vs 0.240 macro F1), which "collaborating" independent predictions should not do. So each
view is also trained to predict on its own: ``view_loss_weight`` x the mean of the per-view
losses is added. A model registered with ``training_loss="view_supervision"`` gives its per-view
logits with ``forward(x, return_views=True)`` and holds ``view_loss_weight``.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.shapes import check_shape
from mer4d.losses.training import TRAINING_LOSSES


def view_loss(view_logits: torch.Tensor, targets: torch.Tensor, task_loss: nn.Module, weight: float) -> torch.Tensor | None:
    """``weight`` x the mean over views of ``task_loss(view_logits[:, v], targets)``; None when
    there is nothing to add (weight 0, or a single view, whose loss is the fused loss)."""
    check_shape(view_logits, "B V K", name="view_logits")
    if view_logits.shape[1] < 2 or weight == 0:
        return None
    return weight * torch.stack([task_loss(view_logits[:, v], targets) for v in range(view_logits.shape[1])]).mean()


@TRAINING_LOSSES.register("view_supervision")
def view_supervision(model: nn.Module, clips: torch.Tensor, targets: torch.Tensor, au_targets: torch.Tensor | None, epoch: int, task_loss: nn.Module) -> torch.Tensor:
    """The fused logits' loss plus the weighted per-view losses of one training batch."""
    fused, views = model(clips, return_views=True)
    loss = task_loss(fused, targets)
    extra = view_loss(views, targets, task_loss, model.view_loss_weight)
    return loss if extra is None else loss + extra
