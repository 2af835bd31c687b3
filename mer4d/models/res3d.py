"""res3d: 3D ResNet-18 (R3D-18), the architecture of torchvision's ``r3d_18``, written here.

Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition" (CVPR 2018);
``algorithms.md`` §10. Layout (``width`` = 64 is the published model, 33,371,472 parameters for
3 input channels and 400 classes):

* stem: Conv3d(C, w, k=(3, 7, 7), s=(1, 2, 2), p=(1, 3, 3)) + BatchNorm + ReLU (no max-pool);
* 4 stages x 2 BasicBlocks with w, 2w, 4w, 8w channels; the first block of stages 2-4 has stride
  2 in T, H and W and a 1x1x1 conv + BatchNorm shortcut ("type B");
* AdaptiveAvgPool3d(1) (any input size works, unlike a fixed pool), dropout, Linear.

The initialisation follows torchvision (Kaiming-normal fan-out convolutions, BatchNorm 1/0, a
N(0, 0.01) classifier), so results are comparable with papers that trained ``r3d_18`` from scratch.
No pretrained weights ship: mer4d is offline and micro-expression corpora are small, so prefer
small inputs (e.g. 8 x 64 x 64), a smaller ``width`` and strong regularisation.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.models.blocks3d import ClassifierHead, check_dropout
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model


class BasicBlock3d(nn.Module):
    """Two 3x3x3 conv + BatchNorm layers with an identity or 1x1x1-conv shortcut: (B, Cin, T, H, W) -> (B, Cout, T/s, H/s, W/s)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        # No conv bias: the BatchNorm right after removes it and has its own shift.
        self.conv1 = nn.Conv3d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False), nn.BatchNorm3d(out_channels))
        # Hook for an attention module on the residual branch (after bn2, before the addition),
        # shape-preserving (B, Cout, T', H', W'); e.g. res3d_sca's second-order attention. The
        # Identity has no parameters or state, so plain res3d is unchanged.
        self.attention: nn.Module = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.attention(self.bn2(self.conv2(out)))
        return self.relu(out + self.downsample(x))


class Res3D(ClassifierHead):
    """R3D-18: (B, C, T, H, W) clips -> (B, K) logits (``forward`` and ``reset_classifier`` from :class:`ClassifierHead`).

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        dropout: dropout probability before the classifier, in [0, 1).
        width: channels of the stem and stage 1; the stages use width, 2, 4 and 8 x width.

    Shapes:
        input (B, C, T, H, W), any T, H, W >= 1 (T, H, W are halved up to 3, 4, 4 times);
        features (B, 8 * width); logits (B, K). BatchNorm needs more than one value per channel in
        training, so train on batches, not single small clips.
    """

    model_name = "res3d"

    def __init__(self, num_classes: int, in_channels: int = 3, dropout: float = 0.0, width: int = 64, remove_static: bool = False):
        super().__init__()
        check_int("res3d", "num_classes", num_classes, 1)
        check_int("res3d", "in_channels", in_channels, 1)
        check_int("res3d", "width", width, 1)
        check_dropout("res3d", dropout)
        self.in_channels = in_channels
        # Off for the published R3D-18; on, each pixel's temporal mean is subtracted first, so the
        # network sees the change (the expression) rather than the identity (see tiny3d).
        self.remove_static = remove_static
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, width, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )
        stages, channels = [], width
        for i, out_channels in enumerate((width, 2 * width, 4 * width, 8 * width)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock3d(channels, out_channels, stride), BasicBlock3d(out_channels, out_channels)))
            channels = out_channels
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.build_head(8 * width, num_classes, dropout)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        x = self.stem(self.checked_input(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.pool(x).flatten(1)


@register_model("res3d", info=ModelInfo(kind="torch", input=CLIPS, paper_input=(3, 16, 224, 224)))
def res3d(num_classes: int, in_channels: int, dropout: float = 0.0, width: int = 64, remove_static: bool = False) -> Res3D:
    """3D ResNet-18 (R3D-18 as torchvision r3d_18, 33.2M params at width=64; width scales channels), trained from scratch."""
    return Res3D(num_classes=num_classes, in_channels=in_channels, dropout=dropout, width=width, remove_static=remove_static)
