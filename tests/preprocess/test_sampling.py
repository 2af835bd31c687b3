"""Temporal sampling against naive loops and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.errors import DataError, RecipeError, ShapeError
from mer4d.preprocess.sampling import apex_window, interpolate_frames, onset_apex_pair, sample_clip, uniform_indices


def _naive_interpolate(frames: np.ndarray, n: int) -> np.ndarray:
    count = len(frames)
    out = []
    for j in range(n):
        p = 0.0 if n == 1 else j * (count - 1) / (n - 1)
        lo = int(np.floor(p))
        hi = min(lo + 1, count - 1)
        w = p - lo
        out.append((1 - w) * frames[lo].astype(np.float64) + w * frames[hi].astype(np.float64))
    return np.stack(out)


@pytest.mark.parametrize("n_available, n_frames", [(10, 5), (5, 10), (1, 4), (7, 7), (30, 8), (8, 1), (2, 3)])
def test_uniform_indices(n_available, n_frames):
    idx = uniform_indices(n_available, n_frames)
    assert idx.shape == (n_frames,) and idx.dtype == np.int64
    assert idx[0] == 0 and (n_frames == 1 or idx[-1] == n_available - 1)
    assert (np.diff(idx) >= 0).all() and idx.max() <= n_available - 1
    naive = [round(j * (n_available - 1) / (n_frames - 1)) if n_frames > 1 else 0 for j in range(n_frames)]
    assert np.abs(idx - np.array(naive)).max() <= 1  # rounding of exact halves may differ
    spacing = (n_available - 1) / max(n_frames - 1, 1)
    assert np.abs(idx - np.arange(n_frames) * spacing).max() <= 0.5 + 1e-9


def test_uniform_indices_hand_cases():
    assert uniform_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert uniform_indices(3, 5).tolist() == [0, 0, 1, 2, 2]  # linspace 0, .5, 1, 1.5, 2 rounds half to even
    assert uniform_indices(7, 7).tolist() == list(range(7))
    with pytest.raises(RecipeError, match="n_frames must be an integer >= 1"):
        uniform_indices(5, 0)
    with pytest.raises(RecipeError, match="n_available"):
        uniform_indices(0, 3)


@pytest.mark.parametrize("count, n", [(5, 9), (9, 4), (1, 3), (6, 1), (4, 4), (13, 8)])
def test_interpolate_frames_matches_naive_loop(count, n):
    frames = np.random.default_rng(count).integers(0, 256, (count, 2, 3, 4), dtype=np.uint8)
    out = interpolate_frames(frames, n)
    assert out.shape == (n, 2, 3, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out, _naive_interpolate(frames, n), rtol=1e-5, atol=1e-4)


def test_interpolate_frames_hand_case_and_identity():
    frames = np.array([0.0, 10.0, 30.0])
    np.testing.assert_allclose(interpolate_frames(frames, 5), [0.0, 5.0, 10.0, 20.0, 30.0])
    same = np.random.default_rng(0).random((6, 3))
    np.testing.assert_array_equal(interpolate_frames(same, 6), same.astype(np.float32))
    with pytest.raises(ShapeError, match="T >= 1"):
        interpolate_frames(np.zeros((0, 3)), 4)


def test_onset_apex_pair():
    numbers = np.arange(100, 120)
    assert onset_apex_pair(numbers, 100, 107).tolist() == [0, 7]
    assert onset_apex_pair(np.array([3, 5, 9, 12]), 5, 12).tolist() == [1, 3]
    with pytest.raises(DataError, match=r"apex 125 is outside the clip \(frames 100-119, 20 frames\)"):
        onset_apex_pair(numbers, 100, 125)
    with pytest.raises(DataError, match="onset 7 is missing from the clip"):
        onset_apex_pair(np.array([3, 5, 9, 12]), 7, 9)
    with pytest.raises(DataError, match="onset 110 is after apex 105"):
        onset_apex_pair(numbers, 110, 105)


def _naive_window(count: int, apex_pos: int, n: int) -> list[int]:
    start = apex_pos - n // 2
    if count >= n:
        while start < 0:
            start += 1
        while start + n > count:
            start -= 1
    return [min(max(i, 0), count - 1) for i in range(start, start + n)]


@pytest.mark.parametrize("count", [1, 3, 8, 20])
@pytest.mark.parametrize("n", [1, 4, 5, 8])
def test_apex_window_matches_naive(count, n):
    numbers = np.arange(50, 50 + count)
    for apex_pos in range(count):
        window = apex_window(numbers, 50 + apex_pos, n)
        assert window.tolist() == _naive_window(count, apex_pos, n)
        assert apex_pos in window.tolist()


def test_apex_window_hand_cases():
    numbers = np.arange(10, 30)
    assert apex_window(numbers, 20, 5).tolist() == [8, 9, 10, 11, 12]  # centred
    assert apex_window(numbers, 11, 5).tolist() == [0, 1, 2, 3, 4]  # shifted inside at the start
    assert apex_window(numbers, 29, 4).tolist() == [16, 17, 18, 19]  # and at the end
    assert apex_window(np.arange(3), 1, 6).tolist() == [0, 0, 0, 1, 2, 2]  # short clip: edges repeat
    with pytest.raises(DataError, match="apex 5 is outside the clip"):
        apex_window(numbers, 5, 4)
    with pytest.raises(DataError, match="strictly increasing"):
        apex_window(np.array([1, 3, 2]), 3, 2)


def test_sample_clip_dispatch():
    frames = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * 10
    numbers = np.arange(200, 210)
    uniform = sample_clip(frames, numbers, "uniform", 4)
    assert uniform.dtype == np.float32 and uniform[:, 0, 0, 0].tolist() == [0, 30, 60, 90]
    np.testing.assert_allclose(sample_clip(frames, numbers, "interpolate", 19)[:, 0, 0, 0], np.arange(19) * 5)
    assert sample_clip(frames, numbers, "onset_apex", onset=201, apex=205)[:, 0, 0, 0].tolist() == [10, 50]
    assert sample_clip(frames, numbers, "apex_window", 3, apex=209)[:, 0, 0, 0].tolist() == [70, 80, 90]


def test_sample_clip_errors():
    frames, numbers = np.zeros((6, 1, 2, 2)), np.arange(6)
    with pytest.raises(RecipeError, match="unknown sampling strategy 'uniformm'"):
        sample_clip(frames, numbers, "uniformm", 4)
    with pytest.raises(RecipeError, match="'uniform' needs n_frames"):
        sample_clip(frames, numbers, "uniform")
    with pytest.raises(RecipeError, match="'apex_window' needs apex"):
        sample_clip(frames, numbers, "apex_window", 4)
    with pytest.raises(RecipeError, match="needs onset and apex"):
        sample_clip(frames, numbers, "onset_apex")
    with pytest.raises(RecipeError, match="gives 2 frames"):
        sample_clip(frames, numbers, "onset_apex", 8, onset=0, apex=3)
    with pytest.raises(DataError, match="apex 9 is outside the clip"):
        sample_clip(frames, numbers, "apex_window", 4, apex=9)
    with pytest.raises(ShapeError, match="T = len"):
        sample_clip(frames, np.arange(5), "uniform", 4)


# Temporal-adaptive key frames (algorithms.md §9 reconstruction); expected positions worked by hand:
# N_rise = round(N (a - o) / (f - o)) clipped to [1, N - 1], rise linspace(o, a, N_rise) without a,
# fall linspace(a, f, N - N_rise), each rounded half-to-even.
@pytest.mark.parametrize(
    "count, onset, apex, offset, n, expected",
    [
        # long fall: 4 rise frames (16 * 10 / 40), 12 fall frames 10 + k * 30 / 11
        (41, 0, 10, 40, 16, [0, 2, 5, 8, 10, 13, 15, 18, 21, 24, 26, 29, 32, 35, 37, 40]),
        # a clip of 5 frames gives 16 positions with repeats; the apex (position 2) is kept
        (5, 100, 102, 104, 16, [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4]),
        # apex at onset: the rise keeps its one frame, the fall spreads 15 over 0..15
        (16, 0, 0, 15, 16, [0, 0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]),
        # apex at offset: N_rise = 4 is clipped to 3, the fall is the apex alone
        (10, 0, 9, 9, 4, [0, 3, 6, 9]),
        # missing offset: f = min(30, 6 + 6) = 12, so 8 rise and 8 fall frames
        (31, 0, 6, None, 16, [0, 1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 11, 12]),
        # missing offset in a clip shorter than the symmetric fall: f is its last frame (8); N_rise =
        # round(4 * 6 / 8) = 3 leaves one fall frame, the apex itself
        (9, 0, 6, None, 4, [0, 2, 4, 6]),
        (9, 0, 6, None, 8, [0, 1, 2, 3, 4, 5, 6, 8]),
    ],
)
def test_adaptive_indices_hand_cases(count, onset, apex, offset, n, expected):
    from mer4d.preprocess.sampling import adaptive_indices

    first = 100 if onset == 100 else 0
    numbers = np.arange(first, first + count)
    got = adaptive_indices(numbers, onset, apex, offset, n)
    assert got.tolist() == expected
    assert got[0] == onset - first and (apex - first) in got.tolist()


def test_adaptive_indices_onset_apex_offset_one_frame_and_gaps():
    from mer4d.preprocess.sampling import adaptive_indices

    assert adaptive_indices(np.arange(5), 2, 2, 2, 4).tolist() == [2, 2, 2, 2]
    assert adaptive_indices(np.arange(5), 1, 3, 4, 1).tolist() == [3]  # one key frame: the apex
    # positions, not frame numbers, are spread: every other frame on disk (0, 2, ..., 20)
    numbers = np.arange(0, 21, 2)
    assert adaptive_indices(numbers, 0, 4, 20, 4).tolist() == [0, 2, 6, 10]


def test_adaptive_indices_errors_name_the_frames():
    from mer4d.preprocess.sampling import adaptive_indices

    with pytest.raises(DataError, match="onset <= apex <= offset"):
        adaptive_indices(np.arange(10), 0, 8, 5, 4)
    with pytest.raises(DataError, match="offset 12 is outside the clip"):
        adaptive_indices(np.arange(10), 0, 5, 12, 4)
    with pytest.raises(RecipeError, match="needs onset and apex"):
        sample_clip(np.zeros((10, 1, 2, 2)), np.arange(10), "adaptive", 4)


def test_sample_clip_adaptive_picks_those_frames():
    frames = np.arange(41, dtype=np.float32).reshape(41, 1, 1, 1) * np.ones((1, 1, 2, 2), np.float32)
    out = sample_clip(frames, np.arange(41), "adaptive", 16, onset=0, apex=10, offset=40)
    assert out.shape == (16, 1, 2, 2)
    assert out[:, 0, 0, 0].tolist() == [0, 2, 5, 8, 10, 13, 15, 18, 21, 24, 26, 29, 32, 35, 37, 40]
    # and uniform sampling of the same clip does not contain the apex frame 10: the point of adaptive
    assert 10 not in sample_clip(frames, np.arange(41), "uniform", 16)[:, 0, 0, 0].tolist()
