"""Approximate rank pooling against the closed forms of algorithms.md §1, naive loops and float64."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.preprocess.dynamic import DynamicImage, arp_coefficients, dynamic_image


def _harmonic_form(count: int) -> list[Fraction]:
    """alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}), exact, with H_k summed from scratch."""
    def harmonic(k: int) -> Fraction:
        return sum((Fraction(1, i) for i in range(1, k + 1)), Fraction(0))

    return [2 * (count - t + 1) - (count + 1) * (harmonic(count) - harmonic(t - 1)) for t in range(1, count + 1)]


def _loop_form(count: int) -> list[Fraction]:
    """alpha_t = sum_{i=t..T} (2i - T - 1) / i (vl_nnarpooltemporal.m), exact."""
    return [sum((Fraction(2 * i - count - 1, i) for i in range(t, count + 1)), Fraction(0)) for t in range(1, count + 1)]


def _naive_di(frames: np.ndarray) -> np.ndarray:
    """(B, T, C, H, W) float64 -> (B, C, H, W): a python loop over clips and frames."""
    out = np.zeros((frames.shape[0],) + frames.shape[2:])
    for b in range(frames.shape[0]):
        alpha = _loop_form(frames.shape[1])
        for t in range(frames.shape[1]):
            out[b] += float(alpha[t]) * frames[b, t]
    return out


@pytest.mark.parametrize("count", [2, 3, 5, 10, 16, 31])
def test_coefficients_equal_both_closed_forms(count):
    alpha = arp_coefficients(count)
    assert alpha.shape == (count,) and alpha.dtype == np.float64
    harmonic, loop = _harmonic_form(count), _loop_form(count)
    assert harmonic == loop  # the two forms of §1 agree exactly
    np.testing.assert_allclose(alpha, [float(a) for a in harmonic], rtol=1e-12, atol=1e-12)
    assert abs(alpha.sum()) < 1e-10  # static content cancels


def test_coefficients_match_the_published_examples():
    np.testing.assert_allclose(arp_coefficients(10), [-12.22, -3.22, 0.28, 1.95, 2.70, 2.90, 2.73, 2.30, 1.68, 0.90], atol=0.006)
    alpha16 = arp_coefficients(16)
    assert alpha16[0] == pytest.approx(-25.47, abs=0.006) and alpha16[-1] == pytest.approx(0.94, abs=0.006)
    assert int(alpha16.argmax()) == 8 and alpha16.max() == pytest.approx(4.73, abs=0.006)  # peak at t = 9


def test_single_frame_passes_through_like_the_reference_code():
    np.testing.assert_array_equal(arp_coefficients(1), [1.0])
    frame = torch.rand(1, 2, 4, 5)
    torch.testing.assert_close(dynamic_image(frame), frame[0])


def test_harmonic_coefficients_equal_the_time_varying_mean_form():
    # DI = sum_t (2t - T - 1) V_t with V_t the running mean (§1): the smoothing is inside alpha_t.
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(12, 2, 3, 4))
    running_mean = np.cumsum(frames, axis=0) / np.arange(1, 13)[:, None, None, None]
    expected = np.tensordot(2.0 * np.arange(1, 13) - 13, running_mean, axes=(0, 0))
    np.testing.assert_allclose(dynamic_image(frames), expected, rtol=1e-10, atol=1e-10)


def test_vectorised_equals_naive_loop_in_float64():
    rng = np.random.default_rng(1)
    frames = rng.uniform(0, 255, size=(3, 9, 3, 5, 6))
    expected = _naive_di(frames)
    got = dynamic_image(torch.from_numpy(frames))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64 and got.shape == (3, 3, 5, 6)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-11, atol=1e-9)
    # numpy in, numpy out; other time axes give the same images
    np.testing.assert_allclose(dynamic_image(frames), expected, rtol=1e-11, atol=1e-9)
    channels_first = np.ascontiguousarray(frames.transpose(0, 2, 1, 3, 4))  # (B, C, T, H, W)
    np.testing.assert_allclose(dynamic_image(channels_first, dim=2), expected, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(dynamic_image(frames[0], dim=0), expected[0], rtol=1e-11, atol=1e-9)


def test_float32_and_uint8_inputs_match_the_float64_reference():
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, size=(2, 20, 1, 8, 8), dtype=np.uint8)
    expected = _naive_di(frames.astype(np.float64))
    got = dynamic_image(frames)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-3)
    np.testing.assert_allclose(dynamic_image(torch.from_numpy(frames).float()).numpy(), expected, rtol=1e-5, atol=2e-3)


@pytest.mark.parametrize("normalize", ["none", "abs_sum", "minmax", "standardize"])
def test_static_clip_gives_exactly_zero(normalize):
    frame = torch.rand(3, 16, 16) * 255
    clip = frame.expand(2, 11, 3, 16, 16)  # a non-contiguous view works too
    di = dynamic_image(clip, normalize=normalize)
    assert di.shape == (2, 3, 16, 16)
    assert torch.count_nonzero(di) == 0


def test_normalisations():
    rng = np.random.default_rng(3)
    frames = rng.uniform(0, 1, size=(2, 7, 3, 6, 6))
    raw = dynamic_image(frames)
    np.testing.assert_allclose(dynamic_image(frames, normalize="abs_sum"), raw / np.abs(arp_coefficients(7)).sum())
    scaled = dynamic_image(frames, normalize="minmax")
    np.testing.assert_allclose(scaled.reshape(2, -1).min(1), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.reshape(2, -1).max(1), 1.0, atol=1e-12)
    standard = dynamic_image(frames, normalize="standardize")
    np.testing.assert_allclose(standard.reshape(2, -1).mean(1), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard.reshape(2, -1).std(1), 1.0, atol=1e-12)


def test_minmax_percentiles_ignore_an_outlier():
    clip = torch.zeros(5, 1, 10, 10, dtype=torch.float64)
    clip[3:, 0] = torch.linspace(0, 1, 100, dtype=torch.float64).reshape(10, 10)  # a smooth change
    clip[3:, 0, 0, 0] = 100.0  # one hot pixel
    plain = dynamic_image(clip, normalize="minmax")
    robust = dynamic_image(clip, normalize="minmax", percentiles=(1, 99))
    assert float(plain.flatten()[1:].max()) < 0.01  # the outlier squashed everything else
    assert float(robust.max()) == 1.0 and float(robust.flatten()[1:].max()) == 1.0


def test_reversing_the_clip_does_not_negate_the_di():
    clip = torch.rand(8, 1, 4, 4, dtype=torch.float64)
    alpha = torch.as_tensor(arp_coefficients(8))
    reversed_di = torch.einsum("t,tchw->chw", alpha, clip.flip(0))
    torch.testing.assert_close(dynamic_image(clip.flip(0)), reversed_di)  # pooled with the same alphas, not negated
    assert not torch.allclose(reversed_di, -dynamic_image(clip))


def test_module_shell_scales_and_passes_gradients():
    clip = torch.rand(2, 6, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    layer = DynamicImage(scale=0.1)
    out = layer(clip)
    torch.testing.assert_close(out, 0.1 * dynamic_image(clip))
    out.sum().backward()
    # d DI / d frame_t = alpha_t for every pixel (the backward pass of vl_nnarpooltemporal.m)
    expected = 0.1 * torch.from_numpy(arp_coefficients(6)).view(1, 6, 1, 1, 1).expand_as(clip)
    torch.testing.assert_close(clip.grad, expected)
    assert "scale=0.1" in repr(layer)


def test_shape_and_setting_errors():
    with pytest.raises(ShapeError, match=r"expected shape \(\.\.\., T, C, H, W\) with at least 4 dimensions, got \(5, 8, 8\)"):
        dynamic_image(torch.zeros(5, 8, 8))
    with pytest.raises(ShapeError, match="time axis dim=4 is out of range"):
        dynamic_image(torch.zeros(5, 1, 8, 8), dim=4)
    with pytest.raises(ShapeError, match="at least one frame"):
        dynamic_image(torch.zeros(0, 1, 8, 8))
    with pytest.raises(ShapeError, match="got list"):
        dynamic_image([[[[0.0]]]])
    for bad in (0, -3, True, 2.5):
        with pytest.raises(ShapeError, match="T >= 1"):
            arp_coefficients(bad)
    with pytest.raises(RecipeError, match="unknown normalize 'l2'.*none, abs_sum, minmax, standardize"):
        dynamic_image(torch.zeros(3, 1, 4, 4), normalize="l2")
    with pytest.raises(RecipeError, match="only to normalize='minmax'"):
        dynamic_image(torch.zeros(3, 1, 4, 4), percentiles=(1, 99))
    with pytest.raises(RecipeError, match="0 <= low < high <= 100"):
        dynamic_image(torch.zeros(3, 1, 4, 4), normalize="minmax", percentiles=(99, 1))
    with pytest.raises(RecipeError, match="unknown normalize"):
        DynamicImage(normalize="max")
