"""p3d: Pseudo-3D ResNet, P3D-63 (Qiu, Yao and Mei, "Learning Spatio-Temporal Representation with
Pseudo-3D Residual Networks", ICCV 2017), written here after the design of the authors' PyTorch
port (qijiezhao/pseudo-3d-pytorch ``p3d_model.py``); ``algorithms.md`` §10.

**Why P3D-63.** The DFME paper that uses P3D as a baseline does not say clearly which depth it
trained; P3D comes as P3D-63, -131 and -199 (ResNet-50, -101 and -152 layouts). Micro-expression
corpora hold a few hundred clips, so the smallest published depth is the one to start from (and
the only one whose training on them is not hopeless from scratch).

Layout (``width`` = w = 64 is the published network):

* stem: Conv3d 1x7x7, stride (1, 2, 2), w channels + BatchNorm + ReLU; max-pool 1x3x3 stride
  (1, 2, 2) then the temporal pool below. Together this is the reference's (2, 3, 3)/2 max-pool:
  a max over a product window is a spatial max followed by a temporal one.
* res2-res4 (3, 4, 6 bottlenecks; w, 2w, 4w planes, 4 x planes out): 3-D bottlenecks
  1x1x1 -> pseudo-3D unit -> 1x1x1, each conv followed by BatchNorm (+ ReLU), with the outer
  residual (a 1x1x1 conv + BatchNorm shortcut where the shape changes). The pseudo-3D unit
  replaces the 3x3x3 conv by S = 1x3x3 and T = 3x1x1 convs (each + BatchNorm + ReLU) combined as

  - A: T(S(x)),  B: S(x) + T(x),  C: S(x) + T(S(x)),

  the types cycling A, B, C over all 13 blocks of res2-res4 (block i has type "ABC"[i % 3]).
  The first block of res3 and res4 strides (1, 2, 2) in its first 1x1x1 conv and its shortcut.
* a temporal max-pool (kernel 2, stride 2) after the stem and after res2, res3 and res4. In ceil
  mode, so an odd T keeps its last frame, and skipped when T is already 1; so clips of any T >= 1
  pass (16 frames give 16 -> 8 -> 4 -> 2 -> 1, as in the paper).
* res5 (3 bottlenecks, 8w planes) is 2-D, as in the paper (Conv2d/BatchNorm2d, 1x1 stride 2 ->
  3x3 -> 1x1, 2-D shortcut). **The T frames left after res4 are folded into the batch** (the
  reference folds them too, but then feeds B*T rows to its classifier, which is only right when T
  = 1, the paper's 16-frame case); here the 2-D features of each frame are averaged over T, H and
  W, so longer clips give one prediction per clip. The reference's fixed AvgPool2d(5) (160 px only)
  is replaced by this global average.
* dropout (0.5 as the reference), Linear(32 w -> K).

At width 64, 3 input channels and 400 classes the network has 25,745,232 parameters (algorithms.md:
"≈25.7 M analytic"); the 2-D res5 convolutions have exactly the parameters of 1x3x3 3-D ones.
Initialisation: Kaiming-normal fan-out convolutions, BatchNorm 1/0 (the reference's), N(0, 0.01)
classifier. No pretrained weights ship (mer4d is offline): prefer small ``width`` and inputs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.models.blocks3d import ClassifierHead, ConvBnRelu3d, check_dropout
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model

LAYERS = (3, 4, 6, 3)  # P3D-63: the bottleneck counts of ResNet-50 (res2..res5)
BLOCK_TYPES = "ABC"
EXPANSION = 4


def temporal_pool(x: torch.Tensor) -> torch.Tensor:
    """Max-pool of 2 (stride 2, ceil mode) along T of (B, C, T, H, W); the identity when T is 1."""
    if x.shape[2] == 1:
        return x
    return F.max_pool3d(x, kernel_size=(2, 1, 1), stride=(2, 1, 1), ceil_mode=True)


class P3DBottleneck(nn.Module):
    """3-D P3D bottleneck of type A, B or C: (B, Cin, T, H, W) -> (B, 4 planes, T, H/s, W/s).

    ``spatial`` is S (1x3x3 conv + BN + ReLU), ``temporal`` T (3x1x1 conv + BN + ReLU); see
    :meth:`pseudo3d` for how the type combines them.
    """

    def __init__(self, in_channels: int, planes: int, block_type: str, stride: int = 1):
        super().__init__()
        if block_type not in BLOCK_TYPES:
            raise ValueError(f"P3D block type must be one of {tuple(BLOCK_TYPES)}, got {block_type!r}")
        self.block_type = block_type
        out_channels = EXPANSION * planes
        self.reduce = ConvBnRelu3d(in_channels, planes, 1, stride=(1, stride, stride))
        self.spatial = ConvBnRelu3d(planes, planes, (1, 3, 3), padding=(0, 1, 1))
        self.temporal = ConvBnRelu3d(planes, planes, (3, 1, 1), padding=(1, 0, 0))
        self.expand = ConvBnRelu3d(planes, out_channels, 1, relu=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ConvBnRelu3d(in_channels, out_channels, 1, stride=(1, stride, stride), relu=False)
        self.relu = nn.ReLU(inplace=True)

    def pseudo3d(self, x: torch.Tensor) -> torch.Tensor:
        """The pseudo-3D unit on x, the output of the first 1x1x1: A T(S(x)), B S(x)+T(x), C S(x)+T(S(x))."""
        if self.block_type == "A":
            return self.temporal(self.spatial(x))
        if self.block_type == "B":
            return self.spatial(x) + self.temporal(x)
        s = self.spatial(x)
        return s + self.temporal(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(self.pseudo3d(self.reduce(x)))
        return self.relu(out + self.shortcut(x))


def _conv_bn_2d(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Bottleneck2d(nn.Module):
    """2-D ResNet bottleneck of res5 (1x1 stride s -> 3x3 -> 1x1): (N, Cin, H, W) -> (N, 4 planes, H/s, W/s)."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1):
        super().__init__()
        out_channels = EXPANSION * planes
        self.reduce = _conv_bn_2d(in_channels, planes, 1, stride=stride)
        self.conv = _conv_bn_2d(planes, planes, 3)
        self.expand = _conv_bn_2d(planes, out_channels, 1, relu=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = _conv_bn_2d(in_channels, out_channels, 1, stride=stride, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.expand(self.conv(self.reduce(x))) + self.shortcut(x))


class P3D(ClassifierHead):
    """P3D-63: (B, C, T, H, W) clips -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        width: channels of the stem and planes of res2; res3-res5 use 2, 4 and 8 x width planes.
        dropout: dropout probability before the classifier, in [0, 1).
        remove_static: subtract each pixel's temporal mean first (see tiny3d).

    Shapes:
        input (B, C, T, H, W), any T, H, W >= 1 (H and W are halved 5 times, T up to 4 times);
        features (B, 32 * width); logits (B, K).
    """

    model_name = "p3d"

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 64, dropout: float = 0.5, remove_static: bool = False):
        super().__init__()
        check_int("p3d", "num_classes", num_classes, 1)
        check_int("p3d", "in_channels", in_channels, 1)
        check_int("p3d", "width", width, 1)
        check_dropout("p3d", dropout)
        self.in_channels = in_channels
        self.remove_static = remove_static
        self.stem = ConvBnRelu3d(in_channels, width, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3))
        self.stem_pool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        channels, index, stages = width, 0, []
        for stage, (blocks, planes) in enumerate(zip(LAYERS[:3], (width, 2 * width, 4 * width), strict=True)):
            layer = []
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layer.append(P3DBottleneck(channels, planes, BLOCK_TYPES[index % len(BLOCK_TYPES)], stride))
                channels, index = EXPANSION * planes, index + 1
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = stages
        res5 = []
        for b in range(LAYERS[3]):
            res5.append(Bottleneck2d(channels, 8 * width, stride=2 if b == 0 else 1))
            channels = EXPANSION * 8 * width
        self.layer4 = nn.Sequential(*res5)
        self.build_head(channels, num_classes, dropout)
        self.init_weights()

    def blocks3d(self) -> list[P3DBottleneck]:
        """The 3-D bottlenecks of res2-res4, in order (their types cycle A, B, C)."""
        return [block for layer in (self.layer1, self.layer2, self.layer3) for block in layer]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of clips (B, C, T, H, W)."""
        x = temporal_pool(self.stem_pool(self.stem(self.checked_input(x))))
        for layer in (self.layer1, self.layer2, self.layer3):
            x = temporal_pool(layer(x))
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # res5 is 2-D: one image per frame
        frames = self.layer4(frames)
        return frames.mean(dim=(2, 3)).view(b, t, -1).mean(dim=1)


@register_model("p3d", info=ModelInfo(kind="torch", input=CLIPS, paper_input=(3, 16, 160, 160)))
def p3d(num_classes: int, in_channels: int, width: int = 64, dropout: float = 0.5, remove_static: bool = False) -> P3D:
    """Pseudo-3D ResNet P3D-63 (A/B/C blocks, 2-D res5; 25.7M params at width=64, 3x16x160x160 input), trained from scratch."""
    return P3D(num_classes=num_classes, in_channels=in_channels, width=width, dropout=dropout, remove_static=remove_static)
