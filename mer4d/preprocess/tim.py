"""Temporal Interpolation Model (TIM; Zhou et al. CVPR 2011, used for MEs by Pfister et al. ICCV 2011).

TIM embeds the n frames of a clip on the curve of the path graph's Laplacian and resamples that
curve at N positions (``algorithms.md`` §4). The path Laplacian's eigenvectors are the DCT-II
cosines ``v_k(i) = cos(pi k (i - 1/2) / n)``, and the embedding maps the centred frames exactly
onto them (the frames' centred columns always lie in the span of the k >= 1 cosines), so the
whole model reduces to a closed form:

    x(p) = mean + sum_{k=1}^{n-1} c_k cos(pi k (p n - 1/2) / n),
    c_k  = (2 / n) sum_{i=1}^{n} (x_i - mean) cos(pi k (i - 1/2) / n),

evaluated at ``p_j = 1/n + j (1 - 1/n) / (N - 1)``: frame i sits at p = i/n, so N = n returns the
clip. This is the reference algorithm's result (SVD, graph embedding, synthesis; the test checks
it against a direct implementation) without its SVD of a D x n matrix or its rank-deficiency hack
for repeated frames.
"""

from __future__ import annotations

import numpy as np

from mer4d.core.errors import RecipeError, ShapeError


def tim_positions(n_available: int, n_frames: int) -> np.ndarray:
    """(N,) curve positions in [1/n, 1] where TIM samples its N output frames."""
    if n_frames == 1:
        return np.array([1.0 / n_available])
    return 1.0 / n_available + np.arange(n_frames) * (1.0 - 1.0 / n_available) / (n_frames - 1)


def tim_interpolate(frames: np.ndarray, n_frames: int, clip_range: tuple[float, float] | None = None) -> np.ndarray:
    """Resample a clip to ``n_frames`` with TIM.

    Args:
        frames: (T, ...) numeric array, T >= 2 (a single frame has no curve to follow).
        n_frames: output length N >= 1.
        clip_range: optional (low, high) to clip the result to (TIM can over- or undershoot, e.g.
            (0, 255) for 8-bit images); None keeps the values as computed.

    Returns:
        (N, ...) float32.

    Raises:
        ShapeError: fewer than 2 frames. RecipeError: ``n_frames`` < 1.
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise RecipeError(f"TIM: n_frames must be an integer >= 1, got {n_frames!r}")
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim < 1 or x.shape[0] < 2:
        raise ShapeError(f"TIM: expected a clip (T, ...) with T >= 2 frames, got shape {x.shape}", "T ...", x.shape)
    n = x.shape[0]
    flat = x.reshape(n, -1)
    mean = flat.mean(axis=0)
    k = np.arange(1, n)
    basis = np.cos(np.pi * np.outer(np.arange(1, n + 1) - 0.5, k) / n)  # (n, n-1): v_k(i)
    coeffs = (2.0 / n) * basis.T @ (flat - mean)  # (n-1, D)
    p = tim_positions(n, int(n_frames))
    synth = np.cos(np.pi * np.outer(p * n - 0.5, k) / n)  # (N, n-1)
    out = mean + synth @ coeffs
    if clip_range is not None:
        out = np.clip(out, clip_range[0], clip_range[1])
    return out.reshape(int(n_frames), *x.shape[1:]).astype(np.float32)
