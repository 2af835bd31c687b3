"""The procedural face: mesh sizes and orientation, anatomy of the landmarks, texture, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.errors import DataError, ShapeError, UnknownNameError
from mer4d.synth.face import LANDMARK_NAMES, RESOLUTIONS, make_face
from mer4d.synth.identity import Identity, sample_identity


@pytest.fixture(scope="module")
def face():
    return make_face(Identity(), "quick")


def _lm(face, name):
    return face.landmark(name).astype(np.float64)


@pytest.mark.parametrize(("resolution", "low", "high"), [("quick", 8_000, 12_000), ("full", 45_000, 55_000)])
def test_vertex_and_face_counts(resolution, low, high):
    f = make_face(Identity(), resolution)
    rows, cols = f.grid_shape
    n = f.mesh.vertices.shape[0]
    assert low <= n <= high and n == rows * cols
    assert f.mesh.faces.shape == (2 * (rows - 1) * (cols - 1), 3)
    assert f.mesh.vertices.dtype == np.float32 and f.mesh.faces.dtype == np.int64
    assert f.mesh.faces.min() == 0 and f.mesh.faces.max() == n - 1
    assert f.mesh.texture.shape == (*RESOLUTIONS[resolution][2], 3)


def test_normals_point_outward(face):
    v = face.mesh.vertices.astype(np.float64)
    tri = v[face.mesh.faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    outward = np.einsum("fd,fd->f", normals, tri.mean(axis=1) - v.mean(axis=0))
    assert np.mean(outward > 0) > 0.97
    assert outward.mean() > 0
    # Seen from a frontal camera the face front is counter-clockwise: normals have +Z there.
    front = face.front[face.mesh.faces].min(axis=1) > 0.99
    assert np.mean(normals[front, 2] > 0) > 0.95


def test_no_degenerate_triangles(face):
    v = face.mesh.vertices.astype(np.float64)
    tri = v[face.mesh.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert area.min() > 1e-3


def test_uvs_follow_the_grid(face):
    uv = face.mesh.uvs
    assert uv.dtype == np.float32 and uv.min() >= 0.0 and uv.max() <= 1.0
    rows, cols = face.grid_shape
    grid = uv.reshape(rows, cols, 2)
    assert np.all(np.diff(grid[..., 0], axis=1) > 0)  # u grows with yaw, towards +X
    assert np.all(np.diff(grid[..., 1], axis=0) > 0)  # v grows with pitch, 0 at the bottom
    v_mid = grid[:, cols // 2, 1]
    y_mid = face.mesh.vertices.reshape(rows, cols, 3)[:, cols // 2, 1]
    assert np.all(np.diff(y_mid) > 0) and v_mid[0] == 0.0


def test_size_is_adult(face):
    v = face.mesh.vertices
    width = v[:, 0].max() - v[:, 0].min()
    height = _lm(face, "brow_mid_left")[1] - v[:, 1].min()
    assert 130 < width < 160
    assert 120 < height < 170
    assert 170 < v[:, 1].max() - v[:, 1].min() < 210


def test_landmarks_are_named_vertices(face):
    assert tuple(face.landmarks) == LANDMARK_NAMES
    assert len(set(face.landmarks.values())) == len(LANDMARK_NAMES)
    assert face.landmark_positions().shape == (len(LANDMARK_NAMES), 3)
    with pytest.raises(UnknownNameError, match="nose_tip"):
        face.landmark("nose_tipp")


def test_landmarks_are_mirror_symmetric(face):
    for name in LANDMARK_NAMES:
        p = _lm(face, name)
        if name.endswith("_left"):
            q = _lm(face, name[: -len("_left")] + "_right")
            assert p[0] > 5.0, name  # the subject's left is +X
            assert np.abs(p * [-1, 1, 1] - q).max() < 1.0, name
        elif not name.endswith("_right"):
            assert abs(p[0]) < 1.0, name


def test_landmarks_follow_anatomy(face):
    y = {name: _lm(face, name)[1] for name in LANDMARK_NAMES}
    assert y["brow_mid_left"] > y["upper_lid_left"] > y["lower_lid_left"] > y["nose_tip"]
    assert y["nose_bridge"] > y["nose_tip"] > y["nostril_left"] > y["upper_lip"] > y["lower_lip"] > y["chin"]
    assert 7.0 < y["upper_lid_left"] - y["lower_lid_left"] < 13.0
    assert _lm(face, "eye_outer_left")[0] > _lm(face, "eye_inner_left")[0] > 10.0
    assert _lm(face, "mouth_corner_left")[0] > 20.0
    assert _lm(face, "cheek_left")[0] > _lm(face, "eye_inner_left")[0]


def test_nose_tip_is_the_most_forward_point(face):
    v = face.mesh.vertices
    tip = face.landmarks["nose_tip"]
    assert abs(v[tip, 0]) < 1e-3
    near_midline = np.abs(v[:, 0]) < 20.0
    assert v[tip, 2] == v[near_midline, 2].max()
    assert v[tip, 2] - _lm(face, "cheek_left")[2] > 12.0
    assert v[tip, 2] - _lm(face, "chin")[2] > 15.0


def test_texture_colours_follow_features(face):
    tex = face.mesh.texture
    assert tex.dtype == np.uint8 and tex.ndim == 3
    h, w = tex.shape[:2]

    def texel(name):
        u, v = face.mesh.uvs[face.landmarks[name]]
        return tex[min(int((1.0 - v) * h), h - 1), min(int(u * w), w - 1)].astype(float) / 255.0

    skin, lip = np.array(face.identity.skin_rgb), np.array(face.identity.lip_rgb)
    assert np.abs(texel("cheek_left") - skin).max() < 0.15
    assert np.abs(texel("lower_lip") - lip).max() < 0.1
    assert texel("brow_mid_left").mean() < 0.6 * skin.mean()  # darker brows


def test_same_identity_same_face():
    a, b = make_face(Identity(), "quick"), make_face(Identity(), "quick")
    for x, y in [(a.mesh.vertices, b.mesh.vertices), (a.mesh.faces, b.mesh.faces), (a.mesh.uvs, b.mesh.uvs), (a.mesh.texture, b.mesh.texture)]:
        assert np.array_equal(x, y)
    assert dict(a.landmarks) == dict(b.landmarks)


def test_different_identities_differ():
    i1, i2 = (sample_identity(np.random.default_rng(s)) for s in (1, 2))
    f1, f2 = make_face(i1, "quick"), make_face(i2, "quick")
    assert np.abs(f1.mesh.vertices - f2.mesh.vertices).max() > 2.0
    assert not np.array_equal(f1.mesh.texture, f2.mesh.texture)
    assert np.abs(f1.landmark_positions() - f2.landmark_positions()).max() > 2.0


def test_sample_identity_is_deterministic_and_plausible():
    draws = [sample_identity(np.random.default_rng(s)) for s in range(40)]
    assert draws[3] == sample_identity(np.random.default_rng(3))
    assert len({d.face_width for d in draws}) == 40
    assert all(125 <= d.face_width <= 155 and 175 <= d.face_height <= 205 for d in draws)
    f = make_face(draws[0], "quick")  # an extreme-ish draw still builds
    assert np.isfinite(f.mesh.vertices).all()


def test_asymmetry_breaks_the_mirror():
    f = make_face(Identity(asymmetry=2.0), "quick")
    left, right = _lm(f, "brow_mid_left"), _lm(f, "brow_mid_right")
    assert left[1] - right[1] > 1.0


def test_identity_and_resolution_errors():
    with pytest.raises(DataError, match=r"face_width.*Fix"):
        Identity(face_width=10.0)
    with pytest.raises(DataError, match="skin_rgb"):
        Identity(skin_rgb=(1.2, 0.5, 0.5))
    with pytest.raises(DataError, match="eyes do not fit"):
        Identity(face_width=115.0, eye_spacing=70.0, eye_width=32.0)
    with pytest.raises(UnknownNameError, match="'quick'"):
        make_face(Identity(), "quik")


def test_landmark_positions_of_frames(face):
    n = face.mesh.vertices.shape[0]
    frames = np.stack([face.mesh.vertices, face.mesh.vertices + 1.0])
    lm = face.landmark_positions(frames)
    assert lm.shape == (2, len(LANDMARK_NAMES), 3)
    assert np.allclose(lm[1] - lm[0], 1.0)
    with pytest.raises(ShapeError, match=str(n)):
        face.landmark_positions(np.zeros((n - 1, 3)))


def test_arrays_are_read_only(face):
    with pytest.raises(ValueError):
        face.mesh.vertices[0, 0] = 1.0
    with pytest.raises(ValueError):
        face.mesh.texture[0, 0, 0] = 1
