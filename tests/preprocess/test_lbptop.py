"""LBP-TOP against scikit-image on the XY plane, a naive loop on XT/YT, and the histogram contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.preprocess.lbptop import lbp_top, lbp_top_codes, num_bins, uniform_lut


def _naive_plane_code(clip: np.ndarray, plane: str, t: int, y: int, x: int, radii, P: int = 8) -> int:
    """One code by the §5 definition: loop over samples, plain bilinear in the plane."""
    rx, ry, rt = radii
    code = 0
    for p in range(P):
        th = 2 * math.pi * p / P
        pos = {"XY": (t, y - ry * math.sin(th), x + rx * math.cos(th)),
               "XT": (t + rt * math.sin(th), y, x + rx * math.cos(th)),
               "YT": (t + rt * math.cos(th), y - ry * math.sin(th), x)}[plane]
        pos = [round(v, 5) for v in pos]
        lo = [math.floor(v) for v in pos]
        frac = [v - f for v, f in zip(pos, lo, strict=True)]
        value = 0.0
        for dt in (0, 1):
            for dy in (0, 1):
                for dx in (0, 1):
                    w = (frac[0] if dt else 1 - frac[0]) * (frac[1] if dy else 1 - frac[1]) * (frac[2] if dx else 1 - frac[2])
                    if w:
                        value += w * clip[lo[0] + dt, lo[1] + dy, lo[2] + dx]
        code |= int(value >= clip[t, y, x]) << p
    return code


def _skimage_block_hist(frame: np.ndarray, blocks: tuple[int, int], margin: int) -> np.ndarray:
    """(blocks, 59) counts of skimage nri_uniform codes over interior pixels, block of y = y * by // H."""
    codes = local_binary_pattern(frame, P=8, R=1, method="nri_uniform").astype(int)
    h, w = frame.shape
    out = np.zeros((blocks[0] * blocks[1], 59))
    for y in range(margin, h - margin):
        for x in range(margin, w - margin):
            out[(y * blocks[0] // h) * blocks[1] + x * blocks[1] // w, codes[y, x]] += 1
    return out


@pytest.mark.parametrize("P", [4, 8, 12])
def test_uniform_lut_matches_skimage_nri_uniform_numbering(P):
    image = np.random.default_rng(P).integers(0, 256, (48, 48)).astype(np.uint8)
    raw = local_binary_pattern(image, P=P, R=2, method="default").astype(int)
    nri = local_binary_pattern(image, P=P, R=2, method="nri_uniform").astype(int)
    lut = uniform_lut(P)
    assert lut.shape == (2**P,) and lut.max() == num_bins(P) - 1
    np.testing.assert_array_equal(lut[raw], nri)


def test_uniform_lut_has_58_uniform_codes_for_p8():
    lut = uniform_lut(8)
    assert num_bins(8) == 59
    assert np.count_nonzero(lut != 58) == 58 and len(np.unique(lut)) == 59
    assert lut[0] == 0 and lut[255] == 57 and lut[0b01010101] == 58


@pytest.mark.parametrize("radius", [1, 1.5, 2])
def test_xy_codes_equal_skimage_per_frame(radius):
    clip = np.random.default_rng(1).integers(0, 256, (6, 23, 27)).astype(np.uint8)
    xy, _, _ = lbp_top_codes(clip, radii=(radius, radius, 2))
    m = math.ceil(radius)
    assert xy.shape == (6 - 4, 23 - 2 * m, 27 - 2 * m)
    for i in range(xy.shape[0]):
        ref = local_binary_pattern(clip[2 + i], P=8, R=radius, method="default").astype(int)
        np.testing.assert_array_equal(xy[i], ref[m:-m, m:-m])


@pytest.mark.parametrize("levels", [256, 3])  # 3 levels: many ties, checks the >= and the interpolation order
def test_xy_histograms_equal_skimage_bin_for_bin(levels):
    frame = np.random.default_rng(levels).integers(0, levels, (31, 29)).astype(np.uint8)
    clip = np.repeat(frame[None], 5, axis=0)  # T = 2 R_T + 1: a single centre frame
    for blocks in [(1, 1), (5, 5)]:
        feats = lbp_top(clip, blocks=blocks, radii=(1, 1, 2)).reshape(blocks[0] * blocks[1], 3, 59)
        ref = _skimage_block_hist(frame, blocks, margin=1)
        np.testing.assert_allclose(feats[:, 0], ref / ref.sum(axis=1, keepdims=True), rtol=1e-6, atol=0)


@pytest.mark.parametrize("shape, radii", [((7, 12, 12), (1, 1, 2)), ((9, 12, 13), (1, 2, 3)), ((7, 11, 12), (2, 1, 1.5))])
def test_all_planes_equal_naive_loop(shape, radii):
    clip = np.random.default_rng(2).random(shape)
    codes = lbp_top_codes(clip, radii=radii)
    mx, my, mt = (math.ceil(r) for r in radii)
    for plane, got in zip(("XY", "XT", "YT"), codes, strict=True):
        ref = np.array([[[_naive_plane_code(clip, plane, t, y, x, radii)
                          for x in range(mx, shape[2] - mx)]
                         for y in range(my, shape[1] - my)]
                        for t in range(mt, shape[0] - mt)])
        np.testing.assert_array_equal(got, ref, err_msg=plane)


def test_feature_length_order_and_normalisation():
    clip = np.random.default_rng(3).random((10, 40, 40)).astype(np.float32)
    feats = lbp_top(clip)
    assert feats.shape == (5 * 5 * 3 * 59,) and feats.dtype == np.float32
    per = feats.reshape(25, 3, 59)
    np.testing.assert_allclose(per.sum(axis=-1), 1.0, rtol=1e-5)
    # block 0 (top-left) counts centres y, x in [1, 8) of frames 2..7: 7 * 7 * 6 voxels
    xy, xt, yt = lbp_top_codes(clip)
    lut = uniform_lut(8)
    for k, codes in enumerate((xy, xt, yt)):
        ref = np.bincount(lut[codes[:, :7, :7]].ravel(), minlength=59) / (7 * 7 * 6)
        np.testing.assert_allclose(per[0, k], ref, rtol=1e-6)
    assert lbp_top(clip, blocks=(8, 8), neighbours=4).shape == (8 * 8 * 3 * 15,)


def test_constant_clip_puts_all_mass_in_the_all_ones_bin():
    for value in (0.0, 77.0, 0.3):
        per = lbp_top(np.full((5, 20, 20), value)).reshape(25, 3, 59)
        assert np.all(per[..., 57] == 1.0) and np.all(per.sum(axis=-1) == 1.0)
    assert uniform_lut(8)[255] == 57


@pytest.mark.parametrize(
    "shape, kwargs, match",
    [
        ((4, 20, 20), {}, "T = 4 is too small for R_T"),
        ((5, 2, 20), {}, "H = 2 is too small for R_Y"),
        ((5, 20, 20), {"radii": (10, 1, 1)}, "W = 20 is too small for R_X"),
        ((5, 12, 12), {"blocks": (12, 1)}, "blocks_y = 12 leaves 2 block"),
        ((5, 12, 12), {"blocks": (1, 11)}, "blocks_x = 11"),
        ((20, 20), {}, r"expected shape \(T, H, W\)"),
    ],
)
def test_too_small_or_misshaped_clips_raise_shape_error(shape, kwargs, match):
    with pytest.raises(ShapeError, match=match):
        lbp_top(np.zeros(shape), **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"radii": (1, 1)}, {"radii": (1, 0, 1)}, {"radii": (1, float("nan"), 1)}, {"neighbours": 1}, {"neighbours": 17},
     {"neighbours": 8.0}, {"blocks": (0, 5)}, {"blocks": 5}, {"blocks": (2.5, 2)}],
)
def test_bad_settings_raise_recipe_error(kwargs):
    with pytest.raises(RecipeError):
        lbp_top(np.zeros((9, 20, 20)), **kwargs)
