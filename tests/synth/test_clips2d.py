"""FaceFilmer's sparse rendering: the frames between rendered key frames are linear interpolations."""

import numpy as np
import pytest

from mer4d.synth.writers.clips2d import FaceFilmer, _fill_between


def test_fill_between_interpolates_linearly_between_keys():
    images = np.stack([np.full((2, 2, 3), v, float) for v in (0.0, 10.0, 30.0)])  # rendered at frames 0, 5, 7
    out = _fill_between(images, [0, 5, 7], list(range(8)))
    np.testing.assert_allclose(out[:, 0, 0, 0], [0, 2, 4, 6, 8, 10, 20, 30])
    gray = images[..., 0]
    np.testing.assert_allclose(_fill_between(gray, [0, 5, 7], list(range(8)))[:, 1, 1], [0, 2, 4, 6, 8, 10, 20, 30])
    assert _fill_between(images, [0, 1, 2], [0, 1, 2]) is images


def test_a_sparse_clip_matches_the_dense_one_at_its_key_frames():
    filmer = FaceFilmer(seed=0, size=24, color=False)
    dense = filmer.film(0, ("AU12",), 200.0, np.random.default_rng(1))
    sparse = filmer.film(0, ("AU12",), 200.0, np.random.default_rng(1), time_step=5)
    assert sparse.frames.shape == dense.frames.shape and sparse.apex == dense.apex
    diff = np.abs(sparse.frames.astype(float) - dense.frames.astype(float))
    # the key frames are rendered (only the sensor noise differs: same draws, so equal), the rest close
    assert diff[::5].mean() == pytest.approx(0.0, abs=1e-9) and diff.mean() < 1.0
