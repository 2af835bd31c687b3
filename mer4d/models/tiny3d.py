"""tiny3d: a small 3D CNN baseline for short grayscale clips, fast enough for CPU smoke runs.

Three Conv3d + BatchNorm3d + ReLU blocks. Pooling shrinks only H and W: a micro-expression lives
in a few frames, so the full temporal resolution is kept until the global average pool.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.shapes import check_shape
from mer4d.models.registry import MODELS


class Tiny3D(nn.Module):
    """Small 3D CNN: (B, C, T, H, W) clips -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        width: channels of the first block; the blocks use width, 2*width, 4*width.
        dropout: dropout probability before the classifier, in [0, 1).

    Shapes:
        input (B, C, T, H, W) with H, W >= 4; features (B, 4*width); logits (B, K).
    """

    def __init__(self, num_classes: int, in_channels: int = 1, width: int = 16, dropout: float = 0.2):
        super().__init__()
        _check_int("num_classes", num_classes, 1)
        _check_int("in_channels", in_channels, 1)
        _check_int("width", width, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise RecipeError(f"tiny3d: dropout must be a number in [0, 1), got {dropout!r}; e.g. dropout=0.2")
        self.in_channels = in_channels
        self.num_features = 4 * width
        self.features = nn.Sequential(
            _block(in_channels, width),
            nn.MaxPool3d(kernel_size=(1, 2, 2)),
            _block(width, 2 * width),
            nn.MaxPool3d(kernel_size=(1, 2, 2)),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(1),
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        self._check_input(x)
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, K) of clips (B, C, T, H, W)."""
        return self.classifier(self.dropout(self.forward_features(x)))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialised one giving ``num_classes`` logits."""
        _check_int("num_classes", num_classes, 1)
        device, dtype = self.classifier.weight.device, self.classifier.weight.dtype
        self.classifier = nn.Linear(self.num_features, num_classes, device=device, dtype=dtype)

    def _check_input(self, x: torch.Tensor) -> None:
        sizes = check_shape(x, "B C T H W", name="clip")
        if sizes["C"] != self.in_channels:
            raise ShapeError(
                f"clip: expected {self.in_channels} channel(s) (B, C={self.in_channels}, T, H, W), got shape {tuple(x.shape)} "
                f"with C={sizes['C']}; build the model with in_channels={sizes['C']} or convert the clips",
                "B C T H W", tuple(x.shape),
            )
        if sizes["H"] < 4 or sizes["W"] < 4:
            raise ShapeError(
                f"clip: tiny3d pools H and W by 4, so it needs H, W >= 4; got shape {tuple(x.shape)}. Resize the clips.",
                "B C T H W", tuple(x.shape),
            )


def _block(cin: int, cout: int) -> nn.Sequential:
    # No conv bias: BatchNorm subtracts the mean right after, so a bias would be redundant (zero gradient).
    return nn.Sequential(nn.Conv3d(cin, cout, kernel_size=3, padding=1, bias=False), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RecipeError(f"tiny3d: {name} must be an integer >= {low}, got {value!r}")


@MODELS.register("tiny3d")
def tiny3d(num_classes: int, in_channels: int, width: int = 16, dropout: float = 0.2, **params: object) -> Tiny3D:
    """Small 3D CNN (3 conv blocks, full temporal resolution, ~70k params at width 16); CPU baseline."""
    if params:
        raise RecipeError(f"tiny3d: unknown parameter(s) {sorted(params)}; tiny3d accepts width and dropout")
    return Tiny3D(num_classes=num_classes, in_channels=in_channels, width=width, dropout=dropout)
