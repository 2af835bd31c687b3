"""p3d: P3D-63's parameter count (algorithms.md §10), its A/B/C block cycle and its short-clip handling."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mer4d.core.errors import Mer4dError
from mer4d.models import build_model
from mer4d.models.p3d import Bottleneck2d, P3DBottleneck, temporal_pool

pytestmark = pytest.mark.usefixtures("tiny_conv_backend")

# Counted with PyTorch (width 64, 3 channels); algorithms.md §10 gives "≈25.7 M analytic" for 400 classes.
P3D63_PARAMS = 25_745_232
P3D63_PARAMS_7 = 24_939_975


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _p3d_params(in_channels: int, num_classes: int, width: int = 64) -> int:
    """Analytic: conv weights (no bias), 2 per BatchNorm channel, the Linear head. A 3-D block's
    pseudo-3D unit has S (9 p^2) and T (3 p^2) with a BatchNorm each; res5's 3x3 has 9 p^2."""
    def conv_bn(cin: int, cout: int, k: int) -> int:
        return cin * cout * k + 2 * cout

    total, cin = conv_bn(in_channels, width, 49), width
    for stage, (blocks, planes) in enumerate(zip((3, 4, 6, 3), (width, 2 * width, 4 * width, 8 * width), strict=True)):
        for b in range(blocks):
            middle = conv_bn(planes, planes, 9) + conv_bn(planes, planes, 3) if stage < 3 else conv_bn(planes, planes, 9)
            total += conv_bn(cin, planes, 1) + middle + conv_bn(planes, 4 * planes, 1)
            if b == 0:
                total += conv_bn(cin, 4 * planes, 1)  # projection shortcut
            cin = 4 * planes
    return total + cin * num_classes + num_classes


def test_parameter_count_is_p3d_63():
    with torch.device("meta"):  # counting needs no values
        model = build_model("p3d", num_classes=400, in_channels=3)
        seven = build_model("p3d", num_classes=7, in_channels=3)
    assert _count(model) == _p3d_params(3, 400) == P3D63_PARAMS
    assert abs(P3D63_PARAMS - 25.7e6) <= 0.05e6  # the table's rounding
    assert _count(seven) == P3D63_PARAMS_7
    assert model.num_features == 2048


@pytest.mark.parametrize("width", [4, 8])
def test_width_scales_the_channels(width):
    model = build_model("p3d", num_classes=5, in_channels=1, width=width)
    assert _count(model) == _p3d_params(1, 5, width)
    assert model.num_features == 32 * width


def test_blocks_cycle_a_b_c_and_res5_is_2d():
    model = build_model("p3d", num_classes=3, in_channels=1, width=4)
    blocks = model.blocks3d()
    assert len(blocks) == 3 + 4 + 6
    assert [b.block_type for b in blocks] == ["ABC"[i % 3] for i in range(13)]
    assert all(isinstance(b, P3DBottleneck) for b in blocks)
    assert blocks[0].spatial.conv.kernel_size == (1, 3, 3) and blocks[0].temporal.conv.kernel_size == (3, 1, 1)
    assert len(model.layer4) == 3 and all(isinstance(b, Bottleneck2d) for b in model.layer4)
    assert not any(isinstance(m, torch.nn.Conv3d) for m in model.layer4.modules())
    assert model.stem.conv.kernel_size == (1, 7, 7) and model.stem.conv.stride == (1, 2, 2)


def _unit(x: torch.Tensor, unit) -> torch.Tensor:
    """conv + BatchNorm (eval: running statistics) + ReLU, written out."""
    bn = unit.bn
    y = F.conv3d(x, unit.conv.weight, padding=unit.conv.padding)
    y = (y - bn.running_mean[None, :, None, None, None]) / torch.sqrt(bn.running_var[None, :, None, None, None] + bn.eps)
    return F.relu(y * bn.weight[None, :, None, None, None] + bn.bias[None, :, None, None, None])


def _randomise_bn(module: torch.nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def test_block_b_is_s_plus_t_by_hand():
    torch.manual_seed(0)
    block = P3DBottleneck(16, 4, "B").eval()  # 16 = 4 x 4 channels: identity shortcut
    _randomise_bn(block)
    x = torch.rand(2, 16, 5, 6, 6)
    with torch.no_grad():
        r = _unit(x, block.reduce)
        s, t = _unit(r, block.spatial), _unit(r, block.temporal)
        e = block.expand
        y = F.conv3d(s + t, e.conv.weight)
        y = (y - e.bn.running_mean[None, :, None, None, None]) / torch.sqrt(e.bn.running_var[None, :, None, None, None] + e.bn.eps)
        y = y * e.bn.weight[None, :, None, None, None] + e.bn.bias[None, :, None, None, None]
        expected = F.relu(y + x)
        assert torch.allclose(block.pseudo3d(r), s + t, atol=1e-5)
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_blocks_a_and_c_compose_s_and_t():
    torch.manual_seed(0)
    r = torch.rand(2, 4, 3, 5, 5)
    for kind in "AC":
        block = P3DBottleneck(16, 4, kind).eval()
        _randomise_bn(block)
        with torch.no_grad():
            s = block.spatial(r.clone())
            expected = block.temporal(s.clone()) if kind == "A" else s + block.temporal(s.clone())
            assert torch.allclose(block.pseudo3d(r), expected, atol=1e-6), kind
    with pytest.raises(ValueError, match="block type"):
        P3DBottleneck(16, 4, "D")


def test_temporal_pool_halves_t_and_keeps_short_clips():
    for t, expected in [(1, 1), (2, 1), (3, 2), (16, 8)]:
        assert temporal_pool(torch.rand(1, 2, t, 3, 3)).shape[2] == expected


@pytest.mark.parametrize("t", [1, 2, 3, 16, 32])
def test_short_and_long_clips_give_one_prediction_per_clip(t):
    torch.manual_seed(0)
    model = build_model("p3d", num_classes=5, in_channels=1, width=4).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, t, 40, 40)).shape == (2, 5)
        assert model.forward_features(torch.rand(2, 1, t, 17, 23)).shape == (2, 128)


def test_paper_input_reaches_res5_with_one_frame():
    """16 x 160 x 160 -> 1 x 10 x 10 after res4 and 5 x 5 after res5 (the reference's AvgPool2d(5))."""
    model = build_model("p3d", num_classes=3, in_channels=1, width=2).eval()
    seen = {}
    model.layer4.register_forward_hook(lambda m, i, o: seen.update(inp=tuple(i[0].shape), out=tuple(o.shape)))
    with torch.no_grad():
        model(torch.rand(1, 1, 16, 160, 160))
    assert seen == {"inp": (1, 32, 10, 10), "out": (1, 64, 5, 5)}


def test_remove_static_ignores_still_content():
    model = build_model("p3d", num_classes=3, in_channels=1, width=4, remove_static=True).eval()
    x, still = torch.rand(2, 1, 4, 32, 32), torch.rand(2, 1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), model(x + still), atol=1e-5)


def test_rejects_bad_parameters():
    with pytest.raises(Mer4dError, match="width"):
        build_model("p3d", num_classes=3, in_channels=1, width=0)
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("p3d", num_classes=3, in_channels=1, dropout=1.0)
    with pytest.raises(Mer4dError, match="did you mean 'width'"):
        build_model("p3d", num_classes=3, in_channels=1, widht=4)
