"""AU-graph's joint loss: AU detection and emotion terms under a decaying AU weight (algorithms.md §7).

alpha_e * BCE(AU logits, AU targets) + (1.1 - alpha_e) * task_loss(emotion logits, targets),
alpha_e = alpha / 10^((epoch - 1) // alpha_step): AU-driven first, emotion-driven later (source
unverified, §7). A model registered with ``training_loss="au_joint"`` also has ``learns_aus``
(the AU targets come with the batch), holds ``alpha`` and ``alpha_step``, and gives its AU logits
with ``forward(x, return_au_logits=True)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError
from mer4d.core.shapes import check_shape
from mer4d.losses.training import TRAINING_LOSSES


def alpha_at(epoch: int, alpha: float = 1.0, step: int = 30) -> float:
    """AU-loss weight at 1-based ``epoch``: alpha / 10^((epoch - 1) // step) (1..30 -> alpha, 31..60 -> alpha/10, ...)."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"au_joint: epoch must be an integer >= 1 (1-based), got {epoch!r}")
    return alpha / 10 ** ((epoch - 1) // step)


def au_joint_loss(
    logits: torch.Tensor, au_logits: torch.Tensor, targets: torch.Tensor, au_targets: torch.Tensor,
    task_loss: nn.Module, epoch: int, alpha: float, alpha_step: int,
) -> torch.Tensor:
    """alpha_e * BCEWithLogits(au_logits, au_targets) + (1.1 - alpha_e) * task_loss(logits, targets).

    ``au_logits`` (B, K_au) and ``au_targets`` (B, K_au) multi-hot; the AU term is computed in
    float32 (it may run under autocast).
    """
    check_shape(au_targets, "B K", name="au_targets", bound={"B": au_logits.shape[0], "K": au_logits.shape[1]})
    weight = alpha_at(epoch, alpha, alpha_step)
    au_loss = F.binary_cross_entropy_with_logits(au_logits.float(), au_targets.to(device=au_logits.device, dtype=torch.float32))
    return weight * au_loss + (1.1 - weight) * task_loss(logits, targets)


@TRAINING_LOSSES.register("au_joint")
def au_joint(model: nn.Module, clips: torch.Tensor, targets: torch.Tensor, au_targets: torch.Tensor | None, epoch: int, task_loss: nn.Module) -> torch.Tensor:
    """The joint AU + emotion loss of one training batch (see the module docstring)."""
    if au_targets is None:
        raise RecipeError("the au_joint training loss needs AU targets with every batch; register the model with ModelInfo(learns_aus=True)")
    logits, au_logits = model(clips, return_au_logits=True)
    return au_joint_loss(logits, au_logits, targets, au_targets, task_loss, epoch, model.alpha, model.alpha_step)
