"""SCA: GSoP second-order attention in 3-D (covariance, shapes, ranges, autocast) and its Res3D host."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mer4d.core.errors import Mer4dError, ShapeError
from mer4d.models import build_model, sca
from mer4d.models.sca import SCA3d, covariance


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_covariance_equals_float64_reference():
    """Σ = X Î Xᵀ, Î = (1/S)(I - 11ᵀ/S): np.cov with bias=True (divide by S), rows as variables."""
    x = torch.randn(3, 5, 7) * 3 + 1
    got = covariance(x)
    assert got.shape == (3, 5, 5) and got.dtype == torch.float32
    x64 = x.double().numpy()
    s = x64.shape[2]
    i_hat = (np.eye(s) - np.ones((s, s)) / s) / s
    for b in range(3):
        expected = np.cov(x64[b], bias=True)
        np.testing.assert_allclose(got[b].numpy(), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(x64[b] @ i_hat @ x64[b].T, expected, atol=1e-10)
    np.testing.assert_allclose(covariance(x.double()).numpy(), np.stack([np.cov(v, bias=True) for v in x64]), atol=1e-12)


def test_spatial_covariance_is_between_positions_over_channels():
    """The position branch's N x N covariance takes the C' channels as samples."""
    z = torch.randn(2, 6, 10)  # (B, C', N)
    got = covariance(z.transpose(1, 2))
    expected = np.cov(z[1].double().numpy().T, bias=True)  # variables = the N positions
    assert got.shape == (2, 10, 10)
    np.testing.assert_allclose(got[1].numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 16, 3, 5, 5), (2, 16, 2, 12, 10)])  # maps smaller and larger than the 8 x 8 grid
def test_block_keeps_the_shape_and_attentions_are_in_0_1(shape):
    block = SCA3d(16, reduced=8)
    x = torch.randn(*shape)
    y = block(x)
    assert y.shape == x.shape
    a_c, a_s = block.channel_attention(x), block.spatial_attention(x)
    assert a_c.shape == (2, 16, 1, 1, 1) and a_s.shape == (2, 1, *shape[2:])
    for att in (a_c, a_s):
        assert (att > 0).all() and (att < 1).all()
    # GSoP '+' fusion: Y = X a_c + ReLU(X a_s)
    assert torch.allclose(y, x * a_c + torch.relu(x * a_s), atol=1e-6)


def test_block_parameter_count():
    """Channel: conv C*C', BN 2C', row BN 2C', row conv 4C'*C' + 4C', fc 4C'*C + C; spatial likewise with N."""
    c, cr, n = 16, 8, 64
    channel = c * cr + 2 * cr + 2 * cr + (4 * cr * cr + 4 * cr) + (4 * cr * c + c)
    spatial = c * cr + 2 * cr + 2 * n + (4 * n * n + 4 * n) + (4 * n * n + n)
    assert _count(SCA3d(c, reduced=cr)) == channel + spatial
    assert SCA3d(4, reduced=128).reduced == 4  # C' = min(reduced, C)


def test_block_gradients_reach_input_and_every_parameter():
    block = SCA3d(8, reduced=4)
    x = torch.randn(3, 8, 2, 6, 6, requires_grad=True)
    block(x).square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_block_rejects_a_wrong_channel_count():
    with pytest.raises(ShapeError, match=r"expected shape \(B, C, T, H, W\)"):
        SCA3d(8, reduced=4)(torch.randn(2, 6, 2, 4, 4))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_covariance_stays_float32_under_cpu_autocast(dtype, monkeypatch):
    seen: list[tuple[torch.dtype, torch.dtype]] = []

    def spy(x):
        out = covariance(x)
        seen.append((x.dtype, out.dtype))
        return out

    monkeypatch.setattr(sca, "covariance", spy)
    block = SCA3d(8, reduced=4)
    try:
        with torch.autocast(device_type="cpu", dtype=dtype):
            y = block(torch.randn(2, 8, 2, 6, 6))
    except RuntimeError as error:  # an old CPU build without this autocast dtype
        pytest.skip(f"CPU autocast with {dtype} unavailable: {error}")
    if not seen or seen[0][0] != dtype:
        pytest.skip(f"CPU autocast did not run the reduction conv in {dtype}")
    assert [out for _, out in seen] == [torch.float32, torch.float32]
    assert torch.isfinite(y.float()).all()


def test_res3d_sca_differs_from_res3d_only_in_the_chosen_stages():
    plain = build_model("res3d", num_classes=5, in_channels=1, width=8)
    for stages in ([3, 4], [2]):
        model = build_model("res3d_sca", num_classes=5, in_channels=1, width=8, sca_stages=stages, sca_channels=16)
        plain_shapes = {k: v.shape for k, v in plain.state_dict().items()}
        host_shapes = {k: v.shape for k, v in model.state_dict().items() if ".attention." not in k}
        assert host_shapes == plain_shapes
        blocks = [m for name, m in model.named_modules() if name.endswith(".attention") and isinstance(m, SCA3d)]
        owners = {name.split(".")[0] for name, m in model.named_modules() if name.endswith(".attention") and isinstance(m, SCA3d)}
        assert owners == {f"layer{s}" for s in stages} and len(blocks) == 2 * len(stages)
        assert _count(model) - _count(plain) == sum(_count(b) for b in blocks)


def test_attention_sits_on_the_residual_branch_before_the_addition():
    """An attention that zeroes the branch leaves relu(shortcut(x)): it acts after bn2, before the sum."""
    model = build_model("res3d_sca", num_classes=3, in_channels=1, width=4, sca_channels=4).eval()
    block = model.layer3[0]
    x = torch.randn(2, 8, 4, 8, 8)
    seen = {}

    class Zero(torch.nn.Module):
        def forward(self, out):
            seen["branch"] = out
            return torch.zeros_like(out)

    block.attention = Zero()
    with torch.no_grad():
        y = block(x)
        expected_branch = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        assert torch.allclose(y, torch.relu(block.downsample(x)))
    assert torch.allclose(seen["branch"], expected_branch)


def test_res3d_sca_gradients_flow_through_every_stage():
    model = build_model("res3d_sca", num_classes=3, in_channels=1, width=4, sca_stages=[1, 2, 3, 4], sca_channels=4)
    # 32 px: layer4 keeps 1 x 2 x 2 positions (a single position has a zero covariance, hence no gradient)
    x = torch.rand(3, 1, 4, 32, 32)
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_res3d_sca_rejects_bad_options():
    with pytest.raises(Mer4dError, match="sca_stages"):
        build_model("res3d_sca", num_classes=3, in_channels=1, width=4, sca_stages=[5])
    with pytest.raises(Mer4dError, match="repeats"):
        build_model("res3d_sca", num_classes=3, in_channels=1, width=4, sca_stages=[3, 3])
    with pytest.raises(Mer4dError, match="sca_channels"):
        build_model("res3d_sca", num_classes=3, in_channels=1, width=4, sca_channels=0)
