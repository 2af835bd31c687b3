"""tiny3d: a small 3D CNN baseline for short grayscale clips, fast enough for CPU smoke runs.

Design choices, each measured on the toy corpus (leave-one-subject-out, 10 epochs, Adam 1e-3)
and each motivated by what a micro-expression is:

* ``remove_static``: the per-pixel temporal mean of the clip is subtracted first. Identity,
  lighting and head position are (nearly) static within a clip while the expression is the
  change, so the network sees the change and not who the subject is.
* GroupNorm instead of BatchNorm: micro-expression corpora are small and batches are small;
  BatchNorm's running statistics lag the weights during short trainings, so eval-mode scores
  fell far below train-mode ones. GroupNorm behaves the same in training and evaluation.
* Pooling shrinks only H and W, keeping every frame up to the global pool, because the motion
  lasts a few frames; the global pool is a *max*, because the motion is local (a few pixels of
  one facial region) and an average would dilute it with the still rest of the face.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.models.clip_input import CLIPS, check_clip, check_int, remove_static
from mer4d.models.registry import ModelInfo, register_model


class Tiny3D(nn.Module):
    """Small 3D CNN: (B, C, T, H, W) clips -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        width: channels of the first block; the blocks use width, 2*width, 4*width.
        dropout: dropout probability before the classifier, in [0, 1).
        remove_static: subtract each pixel's temporal mean before the convolutions.

    Shapes:
        input (B, C, T, H, W) with H, W >= 4 (and T >= 2 with ``remove_static``);
        features (B, 4*width); logits (B, K).
    """

    def __init__(self, num_classes: int, in_channels: int = 1, width: int = 16, dropout: float = 0.2, remove_static: bool = True):
        super().__init__()
        check_int("tiny3d", "num_classes", num_classes, 1)
        check_int("tiny3d", "in_channels", in_channels, 1)
        check_int("tiny3d", "width", width, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise RecipeError(f"tiny3d: dropout must be a number in [0, 1), got {dropout!r}; e.g. dropout=0.2")
        if not isinstance(remove_static, bool):
            raise RecipeError(f"tiny3d: remove_static must be true or false, got {remove_static!r}")
        self.in_channels = in_channels
        self.remove_static = remove_static
        self.num_features = 4 * width
        self.features = nn.Sequential(
            _block(in_channels, width),
            nn.MaxPool3d(kernel_size=(1, 2, 2)),
            _block(width, 2 * width),
            nn.MaxPool3d(kernel_size=(1, 2, 2)),
            _block(2 * width, 4 * width),
            nn.AdaptiveMaxPool3d(1),
            nn.Flatten(1),
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        self._check_input(x)
        if self.remove_static:
            x = remove_static(x)
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, K) of clips (B, C, T, H, W)."""
        return self.classifier(self.dropout(self.forward_features(x)))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialised one giving ``num_classes`` logits."""
        check_int("tiny3d", "num_classes", num_classes, 1)
        device, dtype = self.classifier.weight.device, self.classifier.weight.dtype
        self.classifier = nn.Linear(self.num_features, num_classes, device=device, dtype=dtype)

    def _check_input(self, x: torch.Tensor) -> None:
        sizes = check_clip(x, self.in_channels)
        if self.remove_static and sizes["T"] < 2:
            raise ShapeError(
                f"clip: tiny3d with remove_static=True needs T >= 2 frames (one frame has no change), got shape {tuple(x.shape)}. "
                "Pass more frames or build it with remove_static=False.",
                "B C T H W", tuple(x.shape),
            )
        if sizes["H"] < 4 or sizes["W"] < 4:
            raise ShapeError(
                f"clip: tiny3d pools H and W by 4, so it needs H, W >= 4; got shape {tuple(x.shape)}. Resize the clips.",
                "B C T H W", tuple(x.shape),
            )


def _block(cin: int, cout: int) -> nn.Sequential:
    # No conv bias: GroupNorm subtracts the group mean right after, so a bias would get zero gradient.
    groups = math.gcd(cout, 4)
    return nn.Sequential(nn.Conv3d(cin, cout, kernel_size=3, padding=1, bias=False), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True))



@register_model("tiny3d", info=ModelInfo(kind="torch", input=CLIPS))
def tiny3d(num_classes: int, in_channels: int, width: int = 16, dropout: float = 0.2, remove_static: bool = True) -> Tiny3D:
    """Small 3D CNN on the clip's change over time (3 conv blocks, GroupNorm, global max pool, ~70k params); CPU baseline."""
    return Tiny3D(num_classes=num_classes, in_channels=in_channels, width=width, dropout=dropout, remove_static=remove_static)
