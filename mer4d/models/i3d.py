"""i3d: Two-Stream Inflated 3D ConvNet's RGB stream, Inception-v1 inflated to 3-D (Carreira and
Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017), written here after the layout of the
DeepMind release and its PyTorch port (piergiaj/pytorch-i3d); ``algorithms.md`` §10.

Layout (every conv is Conv3d without bias + BatchNorm (eps 1e-3, as TensorFlow) + ReLU):

* Conv3d_1a 7x7x7 stride 2 (64) -> MaxPool 1x3x3 stride (1, 2, 2) -> Conv3d_2b 1x1x1 (64) ->
  Conv3d_2c 3x3x3 (192) -> MaxPool 1x3x3 stride (1, 2, 2);
* Mixed_3b, 3c -> MaxPool 3x3x3 stride 2 -> Mixed_4b-4f -> MaxPool 2x2x2 stride 2 -> Mixed_5b, 5c,
  each mixed module concatenating 1x1x1 | 1x1x1 -> 3x3x3 | 1x1x1 -> 3x3x3 | MaxPool 3x3x3 stride 1
  -> 1x1x1 with the Inception-v1 channel table :data:`MIXED_TABLE` (the third branch is 3x3x3 as
  in TF-slim's Inception-v1 that I3D inflates);
* AdaptiveAvgPool3d(1) instead of the release's fixed AvgPool3d(2, 7, 7), which fails below
  224 px (algorithms.md §10: a 112 px input crashes); dropout 0.5; Linear (the release's 1x1x1
  logits conv with bias has the same parameters and, after a global pool, the same output).

Padding is TensorFlow's "SAME", computed from each input's size (:func:`same_padding`): every conv
and pool gives ceil(n / stride) positions, splitting an odd padding with the extra position at the
end; so any input from 1 x 1 x 1 up passes (8 x 32 x 32 ends in 1 x 1 x 1 before the pool). Pools
pad with -inf (TensorFlow's max-pool ignores the padding).

At width 1, 3 input channels and 400 classes the network has 12,697,264 parameters (algorithms.md:
12.70 M; the classifier alone 410,000). ``width`` multiplies every channel count
(``max(1, round(c * width))``) for tiny CPU runs (e.g. 0.125). Initialisation: Kaiming-normal fan-out
convolutions, BatchNorm 1/0, N(0, 0.01) classifier; no Kinetics/ImageNet weights (mer4d is offline).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError
from mer4d.models.blocks3d import ClassifierHead, ConvBnRelu3d, check_dropout
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model

# Inception-v1 mixed modules: (#1x1, #3x3 reduce, #3x3, #"5x5" reduce, #"5x5" (3x3x3 here), pool proj);
# strings are the max-pools between them (kernel, stride).
MIXED_TABLE: tuple[tuple[str, tuple[int, int, int, int, int, int]], ...] = (
    ("mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("mixed_5c", (384, 192, 384, 48, 128, 128)),
)
POOL_BEFORE = {"mixed_4b": ("maxpool_4a", (3, 3, 3), (2, 2, 2)), "mixed_5b": ("maxpool_5a", (2, 2, 2), (2, 2, 2))}
BN_EPS = 1e-3


def _triple(v: int | Sequence[int]) -> tuple[int, int, int]:
    t = (v, v, v) if isinstance(v, int) else tuple(v)
    return (t[0], t[1], t[2])


def same_padding(sizes: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> tuple[int, ...]:
    """TensorFlow "SAME" padding of (T, H, W) for ``F.pad`` (last dimension first): ceil(n / s)
    outputs, total padding max((out - 1) s + k - n, 0), the odd position at the end."""
    pads: list[int] = []
    for n, k, s in zip(reversed(tuple(sizes)), reversed(tuple(kernel)), reversed(tuple(stride)), strict=True):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class SamePad3d(nn.Module):
    """Pads (B, C, T, H, W) for a "SAME" conv or pool of ``kernel`` and ``stride`` (no parameters)."""

    def __init__(self, kernel: int | Sequence[int], stride: int | Sequence[int] = 1, value: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.value = _triple(kernel), _triple(stride), value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = same_padding(x.shape[2:], self.kernel, self.stride)
        return F.pad(x, pads, value=self.value) if any(pads) else x


class Unit3d(nn.Sequential):
    """"SAME"-padded Conv3d (no bias) + BatchNorm (eps 1e-3) + ReLU: I3D's conv unit."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int | Sequence[int] = 1, stride: int | Sequence[int] = 1):
        super().__init__(SamePad3d(kernel, stride), ConvBnRelu3d(in_channels, out_channels, kernel, stride=stride, eps=BN_EPS))


def max_pool_same(kernel: Sequence[int], stride: Sequence[int]) -> nn.Sequential:
    return nn.Sequential(SamePad3d(kernel, stride, value=-math.inf), nn.MaxPool3d(kernel, stride))


class Mixed3d(nn.Module):
    """Inflated Inception module: four branches concatenated, (B, Cin, T, H, W) -> (B, c0 + c2 + c4 + c5, T, H, W)."""

    def __init__(self, in_channels: int, channels: Sequence[int]):
        super().__init__()
        c0, c1, c2, c3, c4, c5 = channels
        self.out_channels = c0 + c2 + c4 + c5
        self.branch0 = Unit3d(in_channels, c0)
        self.branch1 = nn.Sequential(Unit3d(in_channels, c1), Unit3d(c1, c2, 3))
        self.branch2 = nn.Sequential(Unit3d(in_channels, c3), Unit3d(c3, c4, 3))
        self.branch3 = nn.Sequential(max_pool_same((3, 3, 3), (1, 1, 1)), Unit3d(in_channels, c5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], dim=1)


class I3D(ClassifierHead):
    """I3D (inflated Inception-v1): (B, C, T, H, W) clips -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        width: multiplier of every channel count (> 0; 1 is the published network).
        dropout: dropout probability before the classifier, in [0, 1) (0.5 as the release).
        remove_static: subtract each pixel's temporal mean first (see tiny3d).

    Shapes:
        input (B, C, T, H, W), any T, H, W >= 1 (T is divided by 8, H and W by 32, rounding up);
        features (B, F), F = 1024 at width 1; logits (B, K).
    """

    model_name = "i3d"

    def __init__(self, num_classes: int, in_channels: int = 3, width: float = 1.0, dropout: float = 0.5, remove_static: bool = False):
        super().__init__()
        check_int("i3d", "num_classes", num_classes, 1)
        check_int("i3d", "in_channels", in_channels, 1)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
            raise RecipeError(f"i3d: width must be a number > 0 (a channel multiplier), got {width!r}; e.g. width=0.125")
        check_dropout("i3d", dropout)
        self.in_channels = in_channels
        self.remove_static = remove_static
        self.width = float(width)

        def ch(c: int) -> int:
            return max(1, round(c * width))

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv3d_1a"] = Unit3d(in_channels, ch(64), 7, stride=2)
        layers["maxpool_2a"] = max_pool_same((1, 3, 3), (1, 2, 2))
        layers["conv3d_2b"] = Unit3d(ch(64), ch(64), 1)
        layers["conv3d_2c"] = Unit3d(ch(64), ch(192), 3)
        layers["maxpool_3a"] = max_pool_same((1, 3, 3), (1, 2, 2))
        channels = ch(192)
        for name, table in MIXED_TABLE:
            if name in POOL_BEFORE:
                pool_name, kernel, stride = POOL_BEFORE[name]
                layers[pool_name] = max_pool_same(kernel, stride)
            mixed = Mixed3d(channels, [ch(c) for c in table])
            layers[name], channels = mixed, mixed.out_channels
        self.features = nn.Sequential(layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.build_head(channels, num_classes, dropout)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        return self.pool(self.features(self.checked_input(x))).flatten(1)


@register_model("i3d", info=ModelInfo(kind="torch", input=CLIPS, paper_input=(3, 16, 224, 224)))
def i3d(num_classes: int, in_channels: int, width: float = 1.0, dropout: float = 0.5, remove_static: bool = False) -> I3D:
    """I3D, Inception-v1 inflated to 3-D (12.7M params at width=1, 3x16x224x224, 400 classes; adaptive pool), trained from scratch."""
    return I3D(num_classes=num_classes, in_channels=in_channels, width=width, dropout=dropout, remove_static=remove_static)
