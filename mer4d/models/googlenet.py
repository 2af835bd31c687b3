"""googlenet: Inception-v1 (GoogLeNet) for single images, written here; the per-view backbone of CCDN.

Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015), Table 1; ``algorithms.md`` §2.
Layout (every convolution is conv + BatchNorm + ReLU, the BatchNorm replacing the paper's two
local response normalisations, as later Inception versions and torchvision do):

* stem: 7x7/2 conv (64), 3x3/2 max-pool, 1x1 conv (64), 3x3 conv (192), 3x3/2 max-pool;
* inception 3a, 3b, 3x3/2 max-pool, 4a-4e, 3x3/2 max-pool, 5a, 5b with the paper's channel table
  (:data:`INCEPTION_TABLE`); each module concatenates four branches: 1x1 | 1x1 -> 3x3 |
  1x1 -> 5x5 | 3x3/1 max-pool -> 1x1;
* global average pool (any input size from :data:`MIN_SIZE` up works), dropout (0.4 in the paper),
  Linear. No auxiliary classifiers.

Max-pools use ``ceil_mode`` so a 224 x 224 image gives the paper's 112, 56, 28, 14, 7 grids.
At ``width`` 1, 3 input channels and 1000 classes the network has 7,005,832 parameters
(convolutions have no bias: the BatchNorm right after has its own shift). torchvision's
``googlenet`` (6,624,904 parameters) uses a 3x3 instead of the paper's 5x5 in the third branch;
``branch3_kernel=3`` reproduces that layout and its count exactly.

``width`` scales every channel count (``max(1, round(c * width))``), so tests and CPU quick
profiles can use a tiny network (e.g. ``width=0.125``). The initialisation is Kaiming-normal
(fan-out) for the convolutions, BatchNorm 1/0 and N(0, 0.01) for the classifier, so the loss
starts near its chance value; no pretrained weights ship (mer4d is offline).
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.models.blocks3d import init_small_head
from mer4d.models.clip_input import IMAGES, check_channels, check_int
from mer4d.models.registry import ModelInfo, register_model

# Paper Table 1: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj); "pool" marks
# the 3x3/2 max-pools between the stages.
INCEPTION_TABLE: tuple[tuple[str, tuple[int, int, int, int, int, int]] | str, ...] = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    "pool",
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    "pool",
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)
# Smallest H and W the network accepts: the stride-2 conv and four 3x3/2 max-pools (ceil mode) take
# 31 -> 16 -> 8 -> 4 -> 2 -> 1, and a ceil-mode pool needs at least 2 pixels (30 ends in an empty grid).
MIN_SIZE = 31


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Conv2d (no bias, 'same' padding for odd kernels) + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class Inception(nn.Module):
    """One Inception-v1 module: (B, Cin, H, W) -> (B, c1 + c3 + c5 + cp, H, W)."""

    def __init__(self, in_channels: int, c1: int, r3: int, c3: int, r5: int, c5: int, cp: int, branch3_kernel: int = 5):
        super().__init__()
        self.branch1 = conv_bn(in_channels, c1, 1)
        self.branch2 = nn.Sequential(conv_bn(in_channels, r3, 1), conv_bn(r3, c3, 3))
        self.branch3 = nn.Sequential(conv_bn(in_channels, r5, 1), conv_bn(r5, c5, branch3_kernel))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1), conv_bn(in_channels, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


def check_dropout(model: str, dropout: object) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise RecipeError(f"{model}: dropout must be a number in [0, 1), got {dropout!r}; e.g. dropout=0.4")


def check_width(model: str, width: object) -> None:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise RecipeError(f"{model}: width must be a number > 0 (1.0 is the published network), got {width!r}; e.g. width=0.25")


class GoogLeNet(nn.Module):
    """Inception-v1: (B, C, H, W) images -> (B, K) logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: input channels C (>= 1).
        width: multiplier of every channel count (1.0 is the published network).
        dropout: dropout probability before the classifier, in [0, 1) (0.4 in the paper).
        branch3_kernel: kernel of the third branch's second conv: 5 (paper) or 3 (torchvision).

    Shapes:
        input (B, C, H, W) with H, W >= :data:`MIN_SIZE` (224 x 224 in the paper); features
        (B, round(1024 * width)); logits (B, K). BatchNorm needs more than one value per channel
        in training, so train on batches.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: float = 1.0, dropout: float = 0.4, branch3_kernel: int = 5):
        super().__init__()
        check_int("googlenet", "num_classes", num_classes, 1)
        check_int("googlenet", "in_channels", in_channels, 1)
        check_width("googlenet", width)
        check_dropout("googlenet", dropout)
        if branch3_kernel not in (3, 5) or isinstance(branch3_kernel, bool):
            raise RecipeError(f"googlenet: branch3_kernel must be 5 (paper) or 3 (torchvision layout), got {branch3_kernel!r}")
        self.in_channels = in_channels

        def scaled(c: int) -> int:
            return max(1, round(c * width))

        self.stem = nn.Sequential(
            conv_bn(in_channels, scaled(64), 7, stride=2),
            _pool(),
            conv_bn(scaled(64), scaled(64), 1),
            conv_bn(scaled(64), scaled(192), 3),
            _pool(),
        )
        layers: list[nn.Module] = []
        channels = scaled(192)
        for entry in INCEPTION_TABLE:
            if entry == "pool":
                layers.append(_pool())
                continue
            module = Inception(channels, *(scaled(c) for c in entry[1]), branch3_kernel=branch3_kernel)
            layers.append(module)
            channels = module.out_channels
        self.inception = nn.Sequential(*layers)
        self.num_features = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.num_features, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        init_small_head(self.classifier)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, num_features) of images (B, C, H, W)."""
        check_image(x, self.in_channels)
        return self.pool(self.inception(self.stem(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, K) of images (B, C, H, W)."""
        return self.classifier(self.dropout(self.forward_features(x)))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialised one giving ``num_classes`` logits."""
        check_int("googlenet", "num_classes", num_classes, 1)
        device, dtype = self.classifier.weight.device, self.classifier.weight.dtype
        self.classifier = nn.Linear(self.num_features, num_classes, device=device, dtype=dtype)
        init_small_head(self.classifier)


def check_image(x: torch.Tensor, in_channels: int) -> dict[str, int]:
    """Shape check of an image batch (B, C, H, W) for a GoogLeNet built with ``in_channels``."""
    sizes = check_channels(x, in_channels, IMAGES.layout, "image")
    check_min_size("image", x, sizes["H"], sizes["W"], IMAGES.layout)
    return sizes


def check_min_size(name: str, x: torch.Tensor, height: int, width: int, spec: str) -> None:
    if height < MIN_SIZE or width < MIN_SIZE:
        raise ShapeError(
            f"{name}: googlenet halves H and W five times, so it needs H, W >= {MIN_SIZE} (224 in the paper); "
            f"got shape {tuple(x.shape)}. Resize the images.",
            spec, tuple(x.shape),
        )


@register_model("googlenet", info=ModelInfo(kind="torch", input=IMAGES))
def googlenet(num_classes: int, in_channels: int, width: float = 1.0, dropout: float = 0.4, branch3_kernel: int = 5) -> GoogLeNet:
    """Inception-v1 / GoogLeNet on (B, C, H, W) images (7.0M params at width=1, BatchNorm, no aux heads); from scratch."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, width=width, dropout=dropout, branch3_kernel=branch3_kernel)
