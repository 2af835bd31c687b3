"""i3d: inflated Inception-v1's parameter count (algorithms.md §10), SAME padding, small inputs."""

from __future__ import annotations

import pytest
import torch

from mer4d.core.errors import Mer4dError
from mer4d.models import build_model
from mer4d.models.i3d import MIXED_TABLE, same_padding

pytestmark = pytest.mark.usefixtures("tiny_conv_backend")

# Counted with PyTorch (width 1, 3 channels); algorithms.md §10: 12.70 M at 400 classes, logits 0.41 M.
I3D_PARAMS = {400: 12_697_264, 7: 12_294_439}
LOGITS_400 = 410_000


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _i3d_params(in_channels: int, num_classes: int) -> int:
    """Analytic: conv weights (no bias) + 2 per BatchNorm channel, the Linear head."""
    def unit(cin: int, cout: int, k: int) -> int:
        return cin * cout * k + 2 * cout

    total = unit(in_channels, 64, 343) + unit(64, 64, 1) + unit(64, 192, 27)
    c = 192
    for _, (c0, c1, c2, c3, c4, c5) in MIXED_TABLE:
        total += unit(c, c0, 1) + unit(c, c1, 1) + unit(c1, c2, 27) + unit(c, c3, 1) + unit(c3, c4, 27) + unit(c, c5, 1)
        c = c0 + c2 + c4 + c5
    return total + c * num_classes + num_classes


@pytest.mark.parametrize("num_classes", [400, 7])
def test_parameter_count_is_i3d(num_classes):
    with torch.device("meta"):
        model = build_model("i3d", num_classes=num_classes, in_channels=3)
    assert _count(model) == _i3d_params(3, num_classes) == I3D_PARAMS[num_classes]
    assert model.num_features == 1024


def test_counts_round_to_the_table():
    with torch.device("meta"):
        model = build_model("i3d", num_classes=400, in_channels=3)
    assert _count(model.classifier) == LOGITS_400
    assert round(I3D_PARAMS[400] / 1e6, 2) == 12.70 and round(LOGITS_400 / 1e6, 2) == 0.41


def test_mixed_modules_follow_inception_v1():
    model = build_model("i3d", num_classes=3, in_channels=1)
    outs = [getattr(model.features, name).out_channels for name, _ in MIXED_TABLE]
    assert outs == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    names = list(dict(model.features.named_children()))
    assert names.index("maxpool_4a") == names.index("mixed_4b") - 1 and names.index("maxpool_5a") == names.index("mixed_5b") - 1


def test_same_padding_is_tensorflows():
    # (T, H, W) sizes -> F.pad order (W, H, T), odd totals put the extra position at the end
    assert same_padding((16, 224, 224), (7, 7, 7), (2, 2, 2)) == (2, 3, 2, 3, 2, 3)
    assert same_padding((1, 1, 1), (3, 3, 3), (2, 2, 2)) == (1, 1, 1, 1, 1, 1)
    assert same_padding((3, 4, 5), (2, 2, 2), (2, 2, 2)) == (0, 1, 0, 0, 0, 1)
    assert same_padding((8, 8, 8), (1, 3, 3), (1, 1, 1)) == (1, 1, 1, 1, 0, 0)


def test_works_at_112_px_where_a_fixed_pool_fails():
    """The release's AvgPool3d(2, 7, 7) needs a 7 x 7 map (224 px); 112 px leaves 4 x 4."""
    torch.manual_seed(0)
    model = build_model("i3d", num_classes=5, in_channels=3, width=0.125).eval()
    seen = {}
    model.pool.register_forward_hook(lambda m, i, o: seen.update(shape=tuple(i[0].shape[2:])))
    with torch.no_grad():
        assert model(torch.rand(2, 3, 16, 112, 112)).shape == (2, 5)
    assert seen["shape"] == (2, 4, 4)


@pytest.mark.parametrize("shape", [(8, 32, 32), (1, 32, 32), (2, 16, 16), (1, 1, 1), (3, 17, 9)])
def test_small_inputs_pass(shape):
    model = build_model("i3d", num_classes=4, in_channels=1, width=0.125).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, *shape)).shape == (2, 4)


def test_width_multiplies_the_channels():
    model = build_model("i3d", num_classes=4, in_channels=1, width=0.125)
    assert model.num_features == 48 + 48 + 16 + 16
    assert model.features.conv3d_1a[1].bn.eps == 1e-3


def test_rejects_bad_parameters():
    for width in (0, -1.0, True):
        with pytest.raises(Mer4dError, match="width"):
            build_model("i3d", num_classes=3, in_channels=1, width=width)
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("i3d", num_classes=3, in_channels=1, dropout=1.0)
    with pytest.raises(Mer4dError, match="did you mean 'width'"):
        build_model("i3d", num_classes=3, in_channels=1, widht=4)
