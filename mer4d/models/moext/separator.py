"""MoExt's feature separator F (arXiv 2407.07345 §3.2.1, Figure 4): shape and texture features of a frame.

A backbone extracts generic features; two structurally identical branches, each Conv blocks + a
fully connected layer, turn them into a shape vector S and a texture vector T of ``feature_dim``
(512 in the paper: Table 2's input is Concat(M, T_o) = 1024 x 1 x 1).

The paper does not specify the backbone. The one here is the smallest stack built only of the
paper's own unit: three Table 1 Conv blocks with width, 2 and 4 x width channels, each followed by
a 2 x 2 max-pool (stride 2), so the generic features are 4 x width channels at H/8 (28 x 28 at
224 px). No residual connections: the paper's blocks have none, and three blocks are shallow
enough to train without them. Each branch is one Conv block to 8 x width channels (the paper's
512 at width = 64), a global average pool and a Linear to ``feature_dim``; the pool makes the
features independent of the frame size (H, W >= 8).

In the objective stage the texture branch is removed (§3.2, §3.4): :class:`ShapeExtractor` is the
backbone + shape branch alone, and :class:`FeatureSeparator` adds the texture branch to it, so
both share parameter names (``backbone.*``, ``shape_branch.*``) and the pre-trained shape part
loads into the classifier as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.errors import ShapeError
from mer4d.models.clip_input import check_channels, check_int
from mer4d.models.moext.blocks import ConvBlock

MIN_SIZE = 8  # three 2 x 2 pools in the backbone


def backbone(in_channels: int, width: int) -> nn.Sequential:
    """Generic features: {Table 1 Conv block, MaxPool 2} with width, 2w, 4w channels: (B, C, H, W) -> (B, 4w, H/8, W/8)."""
    layers: list[nn.Module] = []
    channels = in_channels
    for out_channels in (width, 2 * width, 4 * width):
        layers += [ConvBlock(channels, out_channels), nn.MaxPool2d(2)]
        channels = out_channels
    return nn.Sequential(*layers)


class Branch(nn.Module):
    """A shape or texture branch: Conv block (8 x width), global average pool, Linear: (B, 4w, h, w) -> (B, feature_dim)."""

    def __init__(self, width: int, feature_dim: int):
        super().__init__()
        self.block = ConvBlock(4 * width, 8 * width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.block(x)).flatten(1))


class ShapeExtractor(nn.Module):
    """Backbone + shape branch (the separator of the objective stage, §3.4): frames (B, C, H, W) -> S (B, feature_dim).

    Args:
        in_channels: frame channels C (>= 1).
        width: channels of the first Conv block; the network uses width, 2, 4 and 8 x width.
        feature_dim: size of the shape (and texture) vectors (the paper: 512).
    """

    def __init__(self, in_channels: int = 3, width: int = 64, feature_dim: int = 512):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("width", width), ("feature_dim", feature_dim)):
            check_int("moext", name, value, 1)
        self.in_channels, self.width, self.feature_dim = in_channels, width, feature_dim
        self.backbone = backbone(in_channels, width)
        self.shape_branch = Branch(width, feature_dim)

    def generic(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's generic features (B, 4 x width, H/8, W/8) of checked frames (B, C, H, W)."""
        sizes = check_channels(x, self.in_channels, "B C H W", name="frame")
        if min(sizes["H"], sizes["W"]) < MIN_SIZE:
            raise ShapeError(f"frame: expected H, W >= {MIN_SIZE} (the backbone halves them 3 times), got shape {tuple(x.shape)}", "B C H W", tuple(x.shape))
        return self.backbone(x)

    def shape(self, x: torch.Tensor) -> torch.Tensor:
        """Shape features S (B, feature_dim) of frames (B, C, H, W)."""
        return self.shape_branch(self.generic(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shape(x)


class FeatureSeparator(ShapeExtractor):
    """The pre-training separator F: frames (B, C, H, W) -> (S, T), each (B, feature_dim).

    ``shape(x)`` runs the backbone and the shape branch only (what the objective stage keeps).
    """

    def __init__(self, in_channels: int = 3, width: int = 64, feature_dim: int = 512):
        super().__init__(in_channels, width, feature_dim)
        self.texture_branch = Branch(width, feature_dim)  # identical structure, own weights (§3.2.1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        generic = self.generic(x)  # shared by both branches: one backbone pass
        return self.shape_branch(generic), self.texture_branch(generic)

    def shape_state(self) -> dict[str, torch.Tensor]:
        """The state of the backbone and shape branch only (no ``texture_branch.*``): what :class:`ShapeExtractor` loads."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("texture_branch.")}
