"""Linear EVM (algorithms.md §3): planted sub-pixel motions, filter matrices against loops, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mer4d.core.errors import DataError, RecipeError, ShapeError
from mer4d.preprocess.evm import (
    TEMPORAL_FILTERS,
    EVMSettings,
    collapse_pyramid,
    laplacian_pyramid,
    level_gains,
    magnify,
    temporal_filter_matrix,
)

FPS = 30.0
FRAMES = 30
BAND = (1.5, 6.0)  # Hz; 3 Hz (3 cycles in the clip) is inside, 10 Hz outside


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The clips here are tiny; on a shared 2-core box OpenMP workers waiting on each other cost far
    # more than they save (seconds per call instead of milliseconds).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blob_clip(freq: float, amplitude: float = 0.2, size: int = 96, sigma: float = 6.0):
    """A Gaussian blob moved along x by ``amplitude * sin(2 pi freq t)`` pixels.

    Returns the (T, 1, H, W) float32 clip, the static pattern f and -df/dx (float64, (H, W)), and t.
    """
    t = torch.arange(FRAMES, dtype=torch.float64) / FPS
    shift = amplitude * torch.sin(2 * math.pi * freq * t)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    centre = (size - 1) / 2

    def pattern(dx):
        return 0.3 + 0.4 * torch.exp(-((xx - centre - dx) ** 2 + (yy - centre) ** 2) / (2 * sigma**2))

    clip = pattern(shift[:, None, None])[:, None].float()
    static = pattern(0.0)
    slope = (xx - centre) / sigma**2 * (static - 0.3)  # -df/dx: f(x - d) - f(x) ~ d * slope
    return clip, static, slope, t


def _displacement_amplitude(clip: torch.Tensor, static: torch.Tensor, slope: torch.Tensor, t: torch.Tensor, freq: float) -> float:
    """Least-squares sub-pixel shift per frame (projection on the pattern's slope), then the
    amplitude of its sinusoid at ``freq``."""
    shift = ((clip[:, 0].double() - static) * slope).sum((-2, -1)) / (slope * slope).sum()
    design = torch.stack([torch.sin(2 * math.pi * freq * t), torch.cos(2 * math.pi * freq * t), torch.ones_like(t)], 1)
    coef = torch.linalg.lstsq(design, shift[:, None]).solution[:, 0]
    return float(torch.hypot(coef[0], coef[1]))


def test_motion_inside_the_band_grows_by_about_one_plus_alpha():
    clip, static, slope, t = _blob_clip(3.0)
    settings = EVMSettings(alpha=10.0, temporal_filter="ideal", band_hz=BAND, levels=5)
    out = magnify(clip, FPS, settings)
    assert out.shape == clip.shape and out.dtype == torch.float32
    before = _displacement_amplitude(clip, static, slope, t, 3.0)
    after = _displacement_amplitude(out, static, slope, t, 3.0)
    assert before == pytest.approx(0.2, rel=0.01)
    # 1 + alpha = 11, less what lies in the never-amplified finest / residual levels and the
    # lambda_c attenuation of the fine levels (measured about 8.7)
    assert after / before == pytest.approx(11.0, rel=0.3)
    # without the lambda_c attenuation the factor comes closer to 1 + alpha
    sharper = magnify(clip, FPS, EVMSettings(alpha=10.0, temporal_filter="ideal", band_hz=BAND, levels=5, lambda_c=1.0))
    unattenuated = _displacement_amplitude(sharper, static, slope, t, 3.0) / before
    assert after / before < unattenuated and unattenuated == pytest.approx(11.0, rel=0.15)


def test_motion_outside_the_band_is_left_unchanged():
    clip, static, slope, t = _blob_clip(10.0)
    before = _displacement_amplitude(clip, static, slope, t, 10.0)
    ideal = magnify(clip, FPS, EVMSettings(alpha=10.0, temporal_filter="ideal", band_hz=BAND, levels=5))
    assert _displacement_amplitude(ideal, static, slope, t, 10.0) / before == pytest.approx(1.0, abs=0.02)
    assert float((ideal - clip).abs().max()) < 2e-3  # nothing at 10 Hz is amplified (only tiny 2f / DC terms)
    # a Butterworth band-pass only rolls off: alpha = 10 times its small leakage remains
    settings = EVMSettings(alpha=10.0, temporal_filter="butterworth", band_hz=BAND, levels=5, butter_order=4)
    leaked = _displacement_amplitude(magnify(clip, FPS, settings), static, slope, t, 10.0) / before
    inside, static3, slope3, t3 = _blob_clip(3.0)
    passed = _displacement_amplitude(magnify(inside, FPS, settings), static3, slope3, t3, 3.0) / _displacement_amplitude(inside, static3, slope3, t3, 3.0)
    assert leaked < 1.2 and passed > 6.0


def test_default_iir_magnifies_a_micro_expression_rate_motion():
    clip, static, slope, t = _blob_clip(3.0)
    out = magnify(clip, FPS, EVMSettings(levels=5))  # MIT "baby" IIR defaults
    ratio = _displacement_amplitude(out, static, slope, t, 3.0) / _displacement_amplitude(clip, static, slope, t, 3.0)
    assert 3.0 < ratio < 11.0  # the IIR band-pass has gain < 1, so less than 1 + alpha
    torch.testing.assert_close(out[0], clip[0])  # the causal filter starts at frame 0


@pytest.mark.parametrize("temporal_filter", TEMPORAL_FILTERS)
def test_static_video_stays_unchanged(temporal_filter):
    frame = torch.rand(1, 1, 70, 90)  # not a multiple of 2**(levels-1): exercises the padding
    clip = frame.expand(FRAMES, 1, 70, 90).clone()
    out = magnify(clip, FPS, EVMSettings(temporal_filter=temporal_filter, levels=5, alpha=20.0))
    assert out.shape == clip.shape
    torch.testing.assert_close(out, clip, atol=1e-6, rtol=0)


def test_alpha_zero_is_the_identity_and_batches_match_single_clips():
    clips = torch.rand(2, 12, 1, 32, 32)
    torch.testing.assert_close(magnify(clips, FPS, EVMSettings(alpha=0.0, levels=4)), clips)
    settings = EVMSettings(levels=4, alpha=5.0)
    batched = magnify(clips * 0.2 + 0.4, FPS, settings)
    torch.testing.assert_close(batched[1], magnify(clips[1] * 0.2 + 0.4, FPS, settings), atol=1e-6, rtol=0)


def test_output_is_clipped_to_the_unit_range():
    clip = torch.zeros(16, 1, 32, 32)
    clip[::2, :, 8:24, 8:24] = 1.0  # a flickering square: large band energy
    out = magnify(clip, FPS, EVMSettings(levels=4, alpha=50.0, temporal_filter="ideal", band_hz=(5.0, 15.0)))
    assert float(out.min()) == 0.0 and float(out.max()) == 1.0
    raw = magnify(clip, FPS, EVMSettings(levels=4, alpha=50.0, temporal_filter="ideal", band_hz=(5.0, 15.0), clip=False))
    assert float(raw.min()) < 0.0 and float(raw.max()) > 1.0


def test_rgb_chroma_attenuation():
    torch.manual_seed(0)
    gray = torch.rand(10, 1, 32, 32) * 0.5 + 0.25
    settings = EVMSettings(levels=4)
    # gray RGB has no chroma: each channel equals the gray result
    torch.testing.assert_close(magnify(gray.expand(10, 3, 32, 32), FPS, settings), magnify(gray, FPS, settings).expand(10, 3, 32, 32), atol=1e-6, rtol=0)
    colour = torch.rand(10, 3, 32, 32) * 0.5 + 0.25
    loose = EVMSettings(levels=4, chrom_attenuation=1.0, clip=False)
    per_channel = torch.cat([magnify(colour[:, c:c + 1], FPS, loose) for c in range(3)], dim=1)
    torch.testing.assert_close(magnify(colour, FPS, loose), per_channel, atol=1e-6, rtol=0)
    # attenuated: the added signal keeps its luma and loses 90 % of its I and Q
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
    full = torch.einsum("ij,tjhw->tihw", to_yiq, per_channel - colour)
    attenuated = torch.einsum("ij,tjhw->tihw", to_yiq, magnify(colour, FPS, EVMSettings(levels=4, clip=False)) - colour)
    torch.testing.assert_close(attenuated[:, 0], full[:, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(attenuated[:, 1:], 0.1 * full[:, 1:], atol=1e-5, rtol=0)


def test_level_gains_follow_the_lambda_c_rule():
    # 224 x 224, alpha 10, lambda_c 16: delta = 16 / 88, lambda = 316.78 / 3 at the coarsest level,
    # halving; the finest-but-one level (lambda = 6.600) gets 2 (6.600 * 88 / 128 - 1) = 7.0745.
    gains = level_gains(224, 224, EVMSettings())
    np.testing.assert_allclose(gains, [0.0, 7.0745, 10.0, 10.0, 10.0, 0.0], atol=1e-4)
    assert level_gains(224, 224, EVMSettings(lambda_c=1.0)) == [0.0, 10.0, 10.0, 10.0, 10.0, 0.0]
    # never negative: with alpha = 0 the rule's alpha_l < 0 for levels finer than lambda_c
    assert level_gains(224, 224, EVMSettings(alpha=0.0)) == [0.0] * 6


def test_pyramid_reconstructs_exactly():
    images = torch.rand(3, 2, 48, 64, dtype=torch.float64)
    pyramid = laplacian_pyramid(images, 4)
    assert [tuple(p.shape[-2:]) for p in pyramid] == [(48, 64), (24, 32), (12, 16), (6, 8)]
    torch.testing.assert_close(collapse_pyramid(pyramid), images)
    torch.testing.assert_close(collapse_pyramid(pyramid, [2.0] * 4), 2 * images)


def test_filter_matrices_against_direct_filtering():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(FRAMES, 5))
    settings = EVMSettings()
    # IIR: two first-order low-passes from y = x_0, subtracted (a python loop over time)
    low1, low2, expected = signal[0].copy(), signal[0].copy(), []
    for x in signal:
        low1 = settings.r1 * x + (1 - settings.r1) * low1
        low2 = settings.r2 * x + (1 - settings.r2) * low2
        expected.append(low1 - low2)
    np.testing.assert_allclose(temporal_filter_matrix(FRAMES, FPS, settings) @ signal, expected, atol=1e-12)
    # ideal: a sinusoid on a DFT bin passes whole inside the band and vanishes outside
    t = np.arange(FRAMES) / FPS
    ideal = temporal_filter_matrix(FRAMES, FPS, EVMSettings(temporal_filter="ideal", band_hz=BAND))
    np.testing.assert_allclose(ideal @ np.sin(2 * np.pi * 3.0 * t), np.sin(2 * np.pi * 3.0 * t), atol=1e-12)
    np.testing.assert_allclose(ideal @ np.sin(2 * np.pi * 10.0 * t), 0.0, atol=1e-12)
    np.testing.assert_allclose(ideal @ np.ones(FRAMES), 0.0, atol=1e-12)
    # Butterworth: the matrix is scipy's filtfilt applied to the signal
    sp_signal = pytest.importorskip("scipy.signal")
    numer, denom = sp_signal.butter(2, BAND, btype="bandpass", fs=FPS)
    butter = temporal_filter_matrix(FRAMES, FPS, EVMSettings(temporal_filter="butterworth", band_hz=BAND, butter_order=2))
    np.testing.assert_allclose(butter @ signal, sp_signal.filtfilt(numer, denom, signal, axis=0, padlen=15), atol=1e-10)


def test_default_band_is_the_documented_heuristic():
    assert EVMSettings().band(30.0) == pytest.approx((0.75, 6.0))
    assert EVMSettings(band_hz=(1, 2)).band(200.0) == (1.0, 2.0)


def test_errors_say_expected_and_got():
    with pytest.raises(ShapeError, match=r"expected shape \(\.\.\., T, C, H, W\)"):
        magnify(torch.rand(10, 32, 32), FPS)
    with pytest.raises(ShapeError, match="C = 1 .* or 3"):
        magnify(torch.rand(10, 2, 64, 64), FPS)
    with pytest.raises(ShapeError, match="6 pyramid levels need H, W >= 64.*use levels <= 5"):
        magnify(torch.rand(10, 1, 32, 64), FPS)
    with pytest.raises(DataError, match="floating-point"):
        magnify(torch.zeros(10, 1, 64, 64, dtype=torch.uint8), FPS)
    with pytest.raises(DataError, match=r"values in \[0, 1\].*divide 8-bit frames by 255"):
        magnify(torch.full((10, 1, 64, 64), 200.0), FPS)
    with pytest.raises(DataError, match="T >= 2"):
        magnify(torch.rand(1, 1, 64, 64), FPS)
    with pytest.raises(RecipeError, match="fps must be a positive number"):
        magnify(torch.rand(4, 1, 64, 64), 0)
    with pytest.raises(RecipeError, match="exceeds the Nyquist frequency 15"):
        magnify(torch.rand(4, 1, 64, 64), FPS, EVMSettings(temporal_filter="ideal", band_hz=(1.0, 20.0)))
    with pytest.raises(DataError, match="no frequency of a 4-frame clip"):
        magnify(torch.rand(4, 1, 64, 64), FPS, EVMSettings(temporal_filter="ideal", band_hz=(1.0, 5.0)))
    bad_settings = [
        ({"temporal_filter": "fir"}, "unknown temporal_filter 'fir'"),
        ({"levels": 2}, "levels must be an integer >= 3"),
        ({"alpha": -1.0}, "alpha must be >= 0"),
        ({"lambda_c": 0.0}, "lambda_c must be > 0"),
        ({"r1": 0.05, "r2": 0.4}, "0 < r2 < r1 <= 1"),
        ({"band_hz": (5.0, 1.0)}, "0 < f_low < f_high"),
        ({"butter_order": 0}, "butter_order must be an integer >= 1"),
    ]
    for kwargs, message in bad_settings:
        with pytest.raises(RecipeError, match=message):
            EVMSettings(**kwargs)
    with pytest.raises(AttributeError):
        EVMSettings().alpha = 3.0  # frozen
