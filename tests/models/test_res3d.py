"""res3d is torchvision's r3d_18 (parameter count) and follows the clip-size contract."""

from __future__ import annotations

import pytest
import torch

from mer4d.core.errors import Mer4dError
from mer4d.models import build_model

# torchvision.models.video.r3d_18(num_classes=400), counted with PyTorch (algorithms.md §10: 33.37 M).
R3D18_PARAMS = 33_371_472


def _r3d18_params(in_channels: int, num_classes: int, width: int = 64) -> int:
    """Analytic count: conv weights (no bias) + 2 per BatchNorm channel + the Linear head."""
    def conv_bn(cin: int, cout: int, k: int) -> int:
        return cin * cout * k + 2 * cout

    total = conv_bn(in_channels, width, 3 * 7 * 7)
    cin = width
    for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
        for block in range(2):
            total += conv_bn(cin, cout, 27) + conv_bn(cout, cout, 27)
            if block == 0 and i > 0:
                total += conv_bn(cin, cout, 1)  # 1x1x1 conv + BN shortcut
            cin = cout
    return total + cin * num_classes + num_classes


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_matches_torchvision_r3d_18():
    model = build_model("res3d", num_classes=400, in_channels=3)
    assert _r3d18_params(3, 400) == R3D18_PARAMS
    assert _count(model) == R3D18_PARAMS
    assert _count(model) - _count(model.classifier) == 33_166_272  # "33.17 M without fc"


@pytest.mark.parametrize("width", [8, 16])
def test_width_scales_the_channels(width):
    model = build_model("res3d", num_classes=5, in_channels=1, width=width)
    assert _count(model) == _r3d18_params(1, 5, width)
    assert model.num_features == 8 * width


def test_output_shape_for_a_grayscale_112_clip():
    torch.manual_seed(0)
    model = build_model("res3d", num_classes=5, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 10, 112, 112)).shape == (2, 5)


def test_downsampling_follows_r3d_18():
    """Stem halves H, W; stages 2-4 halve T, H, W (10x112x112 -> 2x7x7 before the pool)."""
    model = build_model("res3d", num_classes=3, in_channels=1, width=4).eval()
    x = torch.rand(1, 1, 10, 112, 112)
    with torch.no_grad():
        x = model.stem(x)
        assert x.shape == (1, 4, 10, 56, 56)
        x = model.layer4(model.layer3(model.layer2(model.layer1(x))))
    assert x.shape == (1, 32, 2, 7, 7)


def test_rejects_bad_parameters():
    with pytest.raises(Mer4dError, match="width"):
        build_model("res3d", num_classes=3, in_channels=1, width=0)
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("res3d", num_classes=3, in_channels=1, dropout=1.0)
    with pytest.raises(Mer4dError, match="did you mean 'width'"):
        build_model("res3d", num_classes=3, in_channels=1, widht=4)
