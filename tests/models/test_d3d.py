"""d3d: 3D DenseNet-121's parameter counts (algorithms.md §10), BatchNorm3d norm5, SE option, short clips."""

from __future__ import annotations

import pytest
import torch

from mer4d.core.errors import Mer4dError
from mer4d.models import build_model
from mer4d.models.blocks3d import SqueezeExcite3d

pytestmark = pytest.mark.usefixtures("tiny_conv_backend")

# Counted with PyTorch (growth 32, 64 initial features, 3 channels); algorithms.md §10: 11.70 M
# (400 classes), 11.29 M (5 classes), SE after each dense block ≈11.6 M (5 classes).
D3D121_PARAMS = {400: 11_696_528, 5: 11_291_653, 7: 11_293_703}
SE_PARAMS = 306_096
BLOCKS = (6, 12, 24, 16)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _block_channels(growth: int, width: int) -> list[int]:
    """Channels at the end of each dense block (the SE inputs)."""
    out, c = [], width
    for i, layers in enumerate(BLOCKS):
        c += layers * growth
        out.append(c)
        if i < 3:
            c //= 2
    return out


def _d3d_params(in_channels: int, num_classes: int, growth: int = 32, width: int = 64) -> int:
    """Analytic: conv weights (no bias), 2 per BatchNorm channel, the Linear head."""
    total, c = in_channels * width * 343 + 2 * width, width
    for i, layers in enumerate(BLOCKS):
        for _ in range(layers):
            total += 2 * c + c * 4 * growth + 2 * 4 * growth + 4 * growth * growth * 27
            c += growth
        if i < 3:
            total += 2 * c + c * (c // 2)
            c //= 2
    return total + 2 * c + c * num_classes + num_classes


def _se_params(channels: int, reduction: int = 16) -> int:
    hidden = max(1, channels // reduction)
    return channels * hidden + hidden + hidden * channels + channels  # FC C->h and FC h->C, with biases


@pytest.mark.parametrize("num_classes", [400, 5, 7])
def test_parameter_count_is_densenet_121(num_classes):
    with torch.device("meta"):
        model = build_model("d3d", num_classes=num_classes, in_channels=3)
    assert _count(model) == _d3d_params(3, num_classes) == D3D121_PARAMS[num_classes]
    assert model.num_features == 1024


def test_counts_round_to_the_table():
    assert round(D3D121_PARAMS[400] / 1e6, 2) == 11.70 and round(D3D121_PARAMS[5] / 1e6, 2) == 11.29


def test_se_adds_its_analytic_parameters():
    with torch.device("meta"):
        plain = build_model("d3d", num_classes=5, in_channels=3)
        se = build_model("d3d", num_classes=5, in_channels=3, se=True)
    assert _block_channels(32, 64) == [256, 512, 1024, 1024]
    expected = sum(_se_params(c) for c in _block_channels(32, 64))
    assert expected == SE_PARAMS
    assert _count(se) - _count(plain) == SE_PARAMS
    assert abs(_count(se) - 11.6e6) <= 0.05e6  # "≈11.6 M"
    assert sum(isinstance(m, SqueezeExcite3d) for m in se.modules()) == 4


def test_se_at_a_small_width_trains_every_parameter():
    torch.manual_seed(0)
    model = build_model("d3d", num_classes=3, in_channels=1, growth=4, width=8, se=True)
    assert _count(model) - _count(build_model("d3d", num_classes=3, in_channels=1, growth=4, width=8)) == sum(
        _se_params(c) for c in _block_channels(4, 8))
    loss = torch.nn.functional.cross_entropy(model(torch.rand(4, 1, 4, 32, 32)), torch.tensor([0, 1, 2, 1]))
    loss.backward()
    for name, p in model.named_parameters():
        if "excites" in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_norm5_is_batchnorm3d():
    model = build_model("d3d", num_classes=3, in_channels=1, growth=4, width=8)
    assert type(model.norm5) is torch.nn.BatchNorm3d
    assert model.stem.conv.kernel_size == (7, 7, 7) and model.stem.conv.stride == (1, 2, 2) and model.stem.conv.padding == (3, 3, 3)


def test_analytic_count_at_small_widths():
    assert _count(build_model("d3d", num_classes=5, in_channels=1, growth=4, width=8)) == _d3d_params(1, 5, 4, 8)


@pytest.mark.parametrize("t", [1, 2, 3, 16])
def test_short_clips_pass(t):
    torch.manual_seed(0)
    model = build_model("d3d", num_classes=5, in_channels=1, growth=4, width=8).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, t, 32, 32)).shape == (2, 5)
        assert model(torch.rand(1, 1, t, 9, 9)).shape == (1, 5)


def test_transitions_pool_as_published_and_stop_at_one():
    """16 x 112 x 112 -> 8 x 28 x 28 after the stem pool, halved by each transition: 1 x 3 x 3 at norm5.
    A 2-frame clip stops halving T at 1."""
    model = build_model("d3d", num_classes=3, in_channels=1, growth=4, width=8).eval()
    seen = []
    model.norm5.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[2:])))
    with torch.no_grad():
        model(torch.rand(1, 1, 16, 112, 112))
        model(torch.rand(1, 1, 2, 112, 112))
    assert seen == [(1, 3, 3), (1, 3, 3)]


def test_rejects_bad_parameters():
    for option in ("growth", "width"):
        with pytest.raises(Mer4dError, match=option):
            build_model("d3d", num_classes=3, in_channels=1, **{option: 0})
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("d3d", num_classes=3, in_channels=1, dropout=1.0)
    with pytest.raises(Mer4dError, match="did you mean 'growth'"):
        build_model("d3d", num_classes=3, in_channels=1, growht=4)
