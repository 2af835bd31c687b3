"""TIM: the closed form equals the reference algorithm; own length returns the clip; monotone stays monotone."""

import numpy as np
import pytest
from scipy.linalg import eigh

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.preprocess.tim import tim_interpolate, tim_positions


def reference_tim(frames: np.ndarray, n_out: int) -> np.ndarray:
    """algorithms.md §4 step by step: centre, SVD, path-graph embedding, sinusoid synthesis."""
    n = frames.shape[0]
    x = frames.reshape(n, -1).T.astype(np.float64)  # D x n
    mu = x.mean(axis=1, keepdims=True)
    u, s, vt = np.linalg.svd(x - mu, full_matrices=False)
    u, y = u[:, : n - 1], (np.diag(s) @ vt)[: n - 1]  # drop the last triplet
    w = np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    lap = np.diag(w.sum(axis=1)) - w
    lam, t = eigh(y @ lap @ y.T, y @ y.T)  # generalised eigenproblem, ascending
    t = t[:, np.argsort(lam)]
    k = np.arange(1, n)
    m = (y[:, 0] @ t) / np.sin(np.pi * k / n + np.pi * (n - k) / (2 * n))
    out = []
    for p in tim_positions(n, n_out):
        v = np.sin(p * k * np.pi + np.pi * (n - k) / (2 * n))
        out.append(u @ np.linalg.solve(t.T, v * m) + mu[:, 0])
    return np.stack(out).reshape(n_out, *frames.shape[1:])


@pytest.mark.parametrize(("n", "n_out"), [(6, 10), (9, 10), (14, 10), (5, 3)])
def test_closed_form_equals_the_reference_algorithm(n, n_out):
    clip = np.random.default_rng(n).random((n, 8, 7)) * 255
    np.testing.assert_allclose(tim_interpolate(clip, n_out), reference_tim(clip, n_out), rtol=1e-4, atol=1e-3)


def test_own_length_returns_the_clip():
    clip = np.random.default_rng(1).random((12, 5, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(tim_interpolate(clip, 12), clip, atol=1e-5)


def test_a_monotone_brightness_clip_stays_monotone():
    brightness = np.cumsum(np.random.default_rng(2).uniform(1, 5, 9))
    clip = np.ones((9, 6, 6)) * brightness[:, None, None]
    out = tim_interpolate(clip, 10)
    assert np.all(np.diff(out.mean(axis=(1, 2))) > 0)
    assert out[0].mean() == pytest.approx(brightness[0], abs=1e-4) and out[-1].mean() == pytest.approx(brightness[-1], abs=1e-4)


def test_repeated_frames_and_clipping_and_errors():
    clip = np.repeat(np.linspace(0, 255, 4)[:, None, None], 2, axis=0) * np.ones((8, 3, 3))  # duplicates: rank-deficient
    out = tim_interpolate(clip, 10, clip_range=(0, 255))
    assert out.shape == (10, 3, 3) and np.isfinite(out).all() and out.min() >= 0 and out.max() <= 255
    free = tim_interpolate(clip, 10)
    np.testing.assert_array_equal(out, np.clip(free, 0, 255))  # clip_range clips the unclipped result, nothing else
    with pytest.raises(ShapeError, match="T >= 2"):
        tim_interpolate(np.zeros((1, 4, 4)), 10)
    with pytest.raises(RecipeError, match="n_frames"):
        tim_interpolate(np.zeros((4, 4, 4)), 0)


def test_tim_is_a_sampling_strategy():
    from mer4d.preprocess.sampling import sample_clip

    clip = np.random.default_rng(3).random((7, 1, 6, 6)).astype(np.float32)
    numbers = np.arange(100, 107)
    np.testing.assert_allclose(sample_clip(clip, numbers, "tim", 10), tim_interpolate(clip, 10))
    assert sample_clip(clip[:1], numbers[:1], "tim", 4).shape == (4, 1, 6, 6)
