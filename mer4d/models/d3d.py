"""d3d: 3D DenseNet-121 (Huang et al.'s DenseNet inflated to 3-D as in Hara, Kataoka and Satoh's
3D-ResNets-PyTorch ``densenet.py``), optionally with squeeze-and-excitation (the 3D SE-DenseNet
of Cai, Li, Dong and Fang, Applied Soft Computing 2022); written here, ``algorithms.md`` §10.

Layout (``growth`` g = 32, ``width`` w = 64 initial features, bottleneck size 4):

* stem: Conv3d 7x7x7, stride (1, 2, 2), padding 3, w channels + BatchNorm + ReLU; max-pool 3x3x3
  stride 2 padding 1;
* dense blocks of (6, 12, 24, 16) layers; each layer is BN-ReLU-Conv 1x1x1 (4 g channels) -
  BN-ReLU-Conv 3x3x3 (g channels) whose output is concatenated to its input;
* between blocks a transition BN-ReLU-Conv 1x1x1 halving the channels + AvgPool3d(2, stride 2).
  **Short clips**: the pool kernel (and stride) shrinks to 1 along a dimension of size 1 (so T
  stops being halved once it is 1 and a T = 1 or 2 clip passes, where Hara's fixed pool fails);
  for sizes >= 2 it is the published pool, floor sizes included (16 x 112 x 112 ends in 1 x 3 x 3).
* norm5: BatchNorm**3d** (Hara's code has BatchNorm2d there, which fails on 5-D maps; algorithms.md
  §10 pitfalls), ReLU, AdaptiveAvgPool3d(1), dropout, Linear.

``se=True`` adds a :class:`~mer4d.models.blocks3d.SqueezeExcite3d` (r = 16) after each of the four dense blocks,
before its transition (before norm5 for the last). Cai et al. compared several SE positions and the
best one was not retrieved (algorithms.md: unverified); after each block is the documented default
here; the per-layer variant (SE after every layer's concatenation) is not built.

Parameters at 3 input channels: 11,696,528 for 400 classes, 11,291,653 for 5 (algorithms.md: 11.70 M
and 11.29 M); ``se=True`` adds 306,096 (11,597,749 at 5 classes, "≈11.6 M"). Initialisation:
Kaiming-normal fan-out convolutions, BatchNorm 1/0 (Hara's), N(0, 0.01) classifier. No dropout by
default (Hara's model has none before the classifier).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.models.blocks3d import ClassifierHead, ConvBnRelu3d, SqueezeExcite3d, check_dropout, fit_kernel
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model

BLOCKS = (6, 12, 24, 16)  # DenseNet-121
BN_SIZE = 4
SE_REDUCTION = 16


class DenseLayer3d(nn.Module):
    """BN-ReLU-1x1x1 conv (bn_size g) - BN-ReLU-3x3x3 conv (g), concatenated: (B, C, T, H, W) -> (B, C + g, T, H, W)."""

    def __init__(self, in_channels: int, growth: int, bn_size: int = BN_SIZE):
        super().__init__()
        self.norm1 = nn.BatchNorm3d(in_channels)
        self.conv1 = nn.Conv3d(in_channels, bn_size * growth, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm3d(bn_size * growth)
        self.conv2 = nn.Conv3d(bn_size * growth, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv1(F.relu(self.norm1(x)))
        new = self.conv2(F.relu(self.norm2(new)))
        return torch.cat([x, new], dim=1)


class Transition3d(nn.Module):
    """BN-ReLU-1x1x1 conv + average pool 2 (stride 2; kernel 1 along a dimension of size 1)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm = nn.BatchNorm3d(in_channels)
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.relu(self.norm(x)))
        kernel = fit_kernel((2, 2, 2), x.shape[2:])
        return F.avg_pool3d(x, kernel_size=kernel, stride=kernel)


class D3D(ClassifierHead):
    """3D DenseNet-121 (optionally with SE): (B, C, T, H, W) clips -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        growth: channels each dense layer adds (32).
        width: channels of the stem (initial features, 64).
        se: a squeeze-and-excitation block after each dense block.
        dropout: dropout probability before the classifier, in [0, 1).
        remove_static: subtract each pixel's temporal mean first (see tiny3d).

    Shapes:
        input (B, C, T, H, W), any T, H, W >= 1; features (B, F) with F = the channels after the
        last block (1024 at growth 32, width 64); logits (B, K).
    """

    model_name = "d3d"

    def __init__(
        self, num_classes: int, in_channels: int = 3, growth: int = 32, width: int = 64, se: bool = False,
        dropout: float = 0.0, remove_static: bool = False,
    ):
        super().__init__()
        check_int("d3d", "num_classes", num_classes, 1)
        check_int("d3d", "in_channels", in_channels, 1)
        check_int("d3d", "growth", growth, 1)
        check_int("d3d", "width", width, 1)
        check_dropout("d3d", dropout)
        self.in_channels = in_channels
        self.remove_static = remove_static
        self.se = bool(se)
        self.stem = ConvBnRelu3d(in_channels, width, 7, stride=(1, 2, 2), padding=3)
        self.stem_pool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        blocks, excites, transitions, channels = [], [], [], width
        for i, layers in enumerate(BLOCKS):
            block = []
            for _ in range(layers):
                block.append(DenseLayer3d(channels, growth))
                channels += growth
            blocks.append(nn.Sequential(*block))
            excites.append(SqueezeExcite3d(channels, SE_REDUCTION) if self.se else nn.Identity())
            if i < len(BLOCKS) - 1:
                transitions.append(Transition3d(channels, channels // 2))
                channels //= 2
        self.blocks = nn.ModuleList(blocks)
        self.excites = nn.ModuleList(excites)
        self.transitions = nn.ModuleList(transitions)
        self.norm5 = nn.BatchNorm3d(channels)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.build_head(channels, num_classes, dropout)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        x = self.stem_pool(self.stem(self.checked_input(x)))
        for i, (block, excite) in enumerate(zip(self.blocks, self.excites, strict=True)):
            x = excite(block(x))
            if i < len(self.transitions):
                x = self.transitions[i](x)
        x = F.relu(self.norm5(x))
        return self.pool(x).flatten(1)


@register_model("d3d", info=ModelInfo(kind="torch", input=CLIPS, paper_input=(3, 16, 224, 224)))
def d3d(
    num_classes: int, in_channels: int, growth: int = 32, width: int = 64, se: bool = False, dropout: float = 0.0, remove_static: bool = False,
) -> D3D:
    """3D DenseNet-121 (Hara's densenet, BatchNorm3d norm5; 11.7M params at 3x16x224x224, 400 classes); se=True adds SE after each dense block."""
    return D3D(num_classes=num_classes, in_channels=in_channels, growth=growth, width=width, se=se, dropout=dropout, remove_static=remove_static)
