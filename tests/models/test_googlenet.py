"""googlenet is Inception-v1 (paper channel table, parameter counts) and checks its input."""

from __future__ import annotations

import pytest
import torch

from mer4d.core.errors import Mer4dError, ShapeError
from mer4d.models import build_model
from mer4d.models.googlenet import INCEPTION_TABLE, MIN_SIZE

# Paper layout (5x5 third branch) with BatchNorm after every conv, no aux heads, 1000 classes.
GOOGLENET_PARAMS = 7_005_832
# torchvision.models.googlenet(aux_logits=False, init_weights=True): 6,624,904 (algorithms.md §2: 6.62 M,
# and 5.61 M with 5 classes); its third branch uses a 3x3 conv, reproduced by branch3_kernel=3.
TORCHVISION_PARAMS = 6_624_904
TORCHVISION_5_CLASSES = 5_605_029


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _analytic(in_channels: int, num_classes: int, branch3_kernel: int = 5) -> int:
    """Conv weights (no bias) + 2 per BatchNorm channel, summed over the paper's table, + the Linear head."""
    def conv_bn(cin: int, cout: int, k: int) -> int:
        return cin * cout * k * k + 2 * cout

    total = conv_bn(in_channels, 64, 7) + conv_bn(64, 64, 1) + conv_bn(64, 192, 3)
    cin = 192
    for entry in INCEPTION_TABLE:
        if entry == "pool":
            continue
        c1, r3, c3, r5, c5, cp = entry[1]
        total += conv_bn(cin, c1, 1) + conv_bn(cin, r3, 1) + conv_bn(r3, c3, 3)
        total += conv_bn(cin, r5, 1) + conv_bn(r5, c5, branch3_kernel) + conv_bn(cin, cp, 1)
        cin = c1 + c3 + c5 + cp
    return total + cin * num_classes + num_classes


def test_parameter_count_at_width_1():
    assert _analytic(3, 1000) == GOOGLENET_PARAMS
    assert _count(build_model("googlenet", num_classes=1000, in_channels=3)) == GOOGLENET_PARAMS


def test_torchvision_layout_matches_its_parameter_count():
    assert _analytic(3, 1000, branch3_kernel=3) == TORCHVISION_PARAMS
    assert _count(build_model("googlenet", num_classes=1000, in_channels=3, branch3_kernel=3)) == TORCHVISION_PARAMS
    assert _count(build_model("googlenet", num_classes=5, in_channels=3, branch3_kernel=3)) == TORCHVISION_5_CLASSES


def test_channel_table_outputs():
    """Module outputs 256, 480 | 512, 512, 512, 528, 832 | 832, 1024 as in the paper's Table 1."""
    outs = [sum(e[1][i] for i in (0, 2, 4, 5)) for e in INCEPTION_TABLE if e != "pool"]
    assert outs == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert build_model("googlenet", num_classes=3, in_channels=3).num_features == 1024


def test_grids_follow_the_paper_for_224():
    """224 -> 28 after the stem, 14 after 3b's pool, 7 after 4e's pool (with a tiny width)."""
    model = build_model("googlenet", num_classes=3, in_channels=1, width=0.0625).eval()
    with torch.no_grad():
        x = model.stem(torch.rand(1, 1, 224, 224))
        assert x.shape[-2:] == (28, 28)
        grids = []
        for layer in model.inception:
            x = layer(x)
            grids.append(x.shape[-1])
    assert grids == [28, 28, 14, 14, 14, 14, 14, 14, 7, 7, 7]
    assert x.shape[1] == model.num_features == 64


@pytest.mark.parametrize("width", [0.125, 0.25])
def test_width_scales_channels_and_shapes(width):
    torch.manual_seed(0)
    model = build_model("googlenet", num_classes=5, in_channels=3, width=width)
    assert model.num_features == round(1024 * width)
    x = torch.rand(2, 3, 64, 64)
    assert model(x).shape == (2, 5)
    assert model.forward_features(x).shape == (2, model.num_features)


def test_smallest_input_size():
    model = build_model("googlenet", num_classes=2, in_channels=1, width=0.125).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 1, MIN_SIZE, MIN_SIZE + 5)).shape == (1, 2)
    with pytest.raises(ShapeError, match=f"H, W >= {MIN_SIZE}") as info:
        model(torch.rand(1, 1, MIN_SIZE - 1, 64))
    assert str((1, 1, MIN_SIZE - 1, 64)) in str(info.value)


def test_wrong_input_says_expected_and_found():
    model = build_model("googlenet", num_classes=2, in_channels=3, width=0.125)
    with pytest.raises(ShapeError, match=r"expected 3 channel\(s\).*got shape \(2, 1, 64, 64\)"):
        model(torch.rand(2, 1, 64, 64))
    with pytest.raises(ShapeError, match=r"expected shape \(B, C, H, W\), got \(2, 3, 4, 64, 64\)"):
        model(torch.rand(2, 3, 4, 64, 64))


def test_rejects_bad_parameters():
    with pytest.raises(Mer4dError, match="width"):
        build_model("googlenet", num_classes=3, in_channels=1, width=0)
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("googlenet", num_classes=3, in_channels=1, dropout=1.0)
    with pytest.raises(Mer4dError, match="branch3_kernel"):
        build_model("googlenet", num_classes=3, in_channels=1, branch3_kernel=4)
    with pytest.raises(Mer4dError, match="did you mean 'width'"):
        build_model("googlenet", num_classes=3, in_channels=1, widht=0.5)
