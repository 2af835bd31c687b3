"""Similarity alignment: Umeyama against scikit-image, recovery of a known warp, motion kept."""

import math

import cv2
import numpy as np
import pytest

from mer4d.core.errors import DataError, ShapeError
from mer4d.preprocess.face_align import STABLE_LANDMARKS, Similarity, align_clip, estimate_similarity, template

SIZE = 96  # template crop
CAMERA = 160  # side of the "camera" images


def texture(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth analytic pattern (wavelengths >= 9 px) plus a blob on each template landmark."""
    out = 0.5 + 0.15 * np.sin(x / 3.0 + 0.3) * np.cos(y / 4.0) + 0.1 * np.sin((x + 2 * y) / 5.0)
    for p in template(SIZE).values():
        out = out + 0.2 * np.exp(-((x - p[0]) ** 2 + (y - p[1]) ** 2) / (2 * 2.0**2))
    return out


def blob(x, y, centre, amplitude=0.4, sigma=2.5):
    return amplitude * np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * sigma**2))


def camera_pose() -> Similarity:
    """Template -> camera image: 8 degrees, x1.15, shifted by (5, -3) px from centred."""
    scale, angle = 1.15, 8.0
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    c_ref, c_cam = np.full(2, (SIZE - 1) / 2), np.full(2, (CAMERA - 1) / 2)
    t = c_cam + np.array([5.0, -3.0]) - scale * rot @ c_ref
    return Similarity(scale, angle, float(t[0]), float(t[1]))


def inverse(s: Similarity) -> Similarity:
    m = np.vstack([s.matrix, [0, 0, 1]])
    inv = np.linalg.inv(m)
    return Similarity(1.0 / s.scale, -s.angle_deg, float(inv[0, 2]), float(inv[1, 2]))


def render(pose: Similarity, moving: list | None = None, n: int = 1) -> np.ndarray:
    """(n, CAMERA, CAMERA) float32 camera frames: the template-space pattern seen through ``pose``;
    ``moving[t]`` is an extra blob centre (template coordinates) for frame t, or None."""
    rows, cols = np.mgrid[0:CAMERA, 0:CAMERA].astype(np.float64)
    back = inverse(pose).apply(np.stack([cols.ravel(), rows.ravel()], 1))
    x, y = back[:, 0].reshape(CAMERA, CAMERA), back[:, 1].reshape(CAMERA, CAMERA)
    frames = []
    for t in range(n):
        image = texture(x, y)
        if moving is not None and moving[t] is not None:
            image = image + blob(x, y, moving[t])
        frames.append(image)
    return np.stack(frames).astype(np.float32)


def reference(moving=None) -> np.ndarray:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    out = texture(cols, rows)
    return (out + blob(cols, rows, moving) if moving is not None else out).astype(np.float32)


def onset_points(pose: Similarity, noise: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    canon = template(SIZE)
    names = list(canon)
    moved = pose.apply(np.array([canon[n] for n in names]))
    moved += np.random.default_rng(seed).normal(0.0, noise, moved.shape)
    return dict(zip(names, moved, strict=True))


def test_template_is_level_symmetric_and_left_is_on_the_image_right():
    canon = template(150)
    assert set(canon) == set(STABLE_LANDMARKS)
    assert not any(k.startswith(("brow", "mouth")) for k in canon)
    centre = (150 - 1) / 2
    for part in ("eye_inner", "eye_outer", "eye_centre"):
        left, right = canon[f"{part}_left"], canon[f"{part}_right"]
        assert left[1] == right[1] and left[0] - centre == pytest.approx(centre - right[0])
        assert left[0] > centre > right[0]
    assert canon["nose_tip"][0] == canon["nose_bridge"][0] == pytest.approx(centre)
    assert canon["nose_tip"][1] > canon["eye_centre_left"][1]
    np.testing.assert_allclose((canon["eye_inner_left"] + canon["eye_outer_left"]) / 2, canon["eye_centre_left"])


def test_similarity_matrix_and_apply_agree_with_opencv():
    s = Similarity(1.3, 20.0, 4.0, -2.0)
    pts = np.array([[0.0, 0.0], [10.0, 5.0], [-3.0, 7.5]])
    np.testing.assert_allclose(s.apply(pts), cv2.transform(pts[None], s.matrix)[0], atol=1e-12)
    assert s.matrix.shape == (2, 3) and s.matrix.dtype == np.float64


@pytest.mark.parametrize("mirror", [False, True])
def test_umeyama_equals_scikit_image(mirror):
    transform = pytest.importorskip("skimage.transform")
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (7, 2))
    dst = Similarity(0.8, -25.0, 12.0, 30.0).apply(src) + rng.normal(0, 0.5, src.shape)
    if mirror:  # the best proper similarity of a reflected set: Umeyama's sign correction
        dst[:, 0] = -dst[:, 0]
    ours = estimate_similarity(src, dst)
    ref = transform.SimilarityTransform.from_estimate(src, dst)
    np.testing.assert_allclose(ours.matrix, ref.params[:2], atol=1e-9)
    assert ours.scale > 0 and np.linalg.det(ours.matrix[:, :2]) > 0


def test_known_warp_is_recovered_and_onset_matches_the_reference():
    pose = camera_pose()
    truth = inverse(pose)  # camera -> template
    clip = render(pose, n=2)
    aligned, found = align_clip(clip, onset_points(pose), SIZE)
    assert aligned.shape == (2, SIZE, SIZE) and aligned.dtype == np.float32
    assert found.angle_deg == pytest.approx(-8.0, abs=1e-6) and found.scale == pytest.approx(1 / 1.15, rel=1e-6)
    assert (found.tx, found.ty) == pytest.approx((truth.tx, truth.ty), abs=1e-6)
    # noisy landmarks (0.3 px, a good detector) still give the pose within small tolerances
    noisy = align_clip(clip, onset_points(pose, noise=0.3), SIZE)[1]
    assert noisy.angle_deg == pytest.approx(-8.0, abs=0.5) and noisy.scale == pytest.approx(1 / 1.15, rel=0.01)
    assert (noisy.tx, noisy.ty) == pytest.approx((truth.tx, truth.ty), abs=1.0)
    ref = reference()
    inner = np.s_[4:-4, 4:-4]
    assert np.abs(aligned[0][inner] - ref[inner]).mean() < 0.005 and np.abs(aligned[0][inner] - ref[inner]).max() < 0.03
    uint8 = align_clip((clip * 255).astype(np.uint8), onset_points(pose), SIZE)[0]
    assert uint8.dtype == np.uint8 and np.abs(uint8[0][inner] / 255.0 - ref[inner]).mean() < 0.015


def test_apex_motion_survives_the_onset_alignment():
    pose = camera_pose()
    centre = np.array([0.5 * SIZE, 0.78 * SIZE])  # a mouth-region blob, far from the landmarks
    moving = [centre, centre, centre + [0.0, 2.0], centre, centre]  # it moves 2 px down at the apex (frame 2)
    clip = render(pose, moving, n=5)
    aligned, _ = align_clip(clip, onset_points(pose), SIZE)
    diff = aligned[2] - aligned[0]
    truth = reference(moving[2]) - reference(moving[0])
    peak = np.unravel_index(np.abs(diff).argmax(), diff.shape)
    true_peak = np.unravel_index(np.abs(truth).argmax(), truth.shape)
    assert np.hypot(peak[0] - true_peak[0], peak[1] - true_peak[1]) <= 2.0
    assert np.abs(diff).max() == pytest.approx(np.abs(truth).max(), rel=0.1)
    far = np.hypot(*np.mgrid[0:SIZE, 0:SIZE] - centre[::-1, None, None]) > 12
    assert np.abs(diff[far]).max() < 0.005  # nothing else moved, and the warp is the same for every frame
    assert np.abs(aligned[1] - aligned[0]).max() < 1e-6 and np.abs(aligned[4] - aligned[0]).max() < 1e-6


def test_bad_inputs_raise_documented_errors():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ShapeError, match=r"\(N, 2\)"):
        estimate_similarity(np.zeros((3, 3)), pts)
    with pytest.raises(ShapeError, match="same points"):
        estimate_similarity(pts, pts[:2])
    with pytest.raises(DataError, match="at least 2"):
        estimate_similarity(pts[:1], pts[:1])
    with pytest.raises(DataError, match="coincide"):
        estimate_similarity(np.ones((3, 2)), pts)
    with pytest.raises(DataError, match="coincide"):
        estimate_similarity(pts, np.ones((3, 2)))
    with pytest.raises(DataError, match="NaN"):
        estimate_similarity(np.array([[0.0, np.nan], [1.0, 1.0]]), pts[:2])
    frames = np.zeros((2, 40, 40), np.uint8)
    with pytest.raises(DataError, match="at least 2 of the stable landmarks"):
        align_clip(frames, {"brow_inner_left": (1, 1), "mouth_corner_left": (5, 5), "nose_tip": (3, 3)}, 32)
    with pytest.raises(ShapeError, match="frames"):
        align_clip(np.zeros((40, 40), np.uint8), {"eye_centre_left": (30, 10), "eye_centre_right": (10, 10)}, 32)
    with pytest.raises(DataError, match="size"):
        template(0)
