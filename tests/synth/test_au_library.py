"""The AU library: unit amplitude, locality, FACS directions, left/right variants, errors."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.errors import DataError, UnknownNameError
from mer4d.synth.aus import SUPPORTED_AUS, au_displacement, au_field, closure_amplitude
from mer4d.synth.face import make_face
from mer4d.synth.identity import Identity

REQUIRED = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 43, 45)
UPPER = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU43", "AU45")
LOWER = ("AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU24", "AU25")
ONE_SIDED = tuple(c for c in SUPPORTED_AUS if c[0] in "LR")
BROWS = ("brow_inner_left", "brow_inner_right", "brow_mid_left", "brow_mid_right", "brow_outer_left", "brow_outer_right")
MOUTH = ("mouth_corner_left", "mouth_corner_right", "upper_lip", "lower_lip", "chin")


@pytest.fixture(scope="module")
def face():
    return make_face(Identity(), "quick")


def _at(face, code, name):
    return au_field(face, code)[face.landmarks[name]].astype(np.float64)


def _mirror_index(face):
    """Vertex index of each vertex's mirror image (x -> -x) on the symmetric grid."""
    rows, cols = face.grid_shape
    return (np.arange(rows)[:, None] * cols + (cols - 1 - np.arange(cols))[None, :]).reshape(-1)


def test_supported_codes_cover_facs_set():
    for n in REQUIRED:
        assert f"AU{n}" in SUPPORTED_AUS
    for n in (1, 2, 4, 6, 7, 12, 14, 15, 20, 45):
        assert f"L{n}" in SUPPORTED_AUS and f"R{n}" in SUPPORTED_AUS
    assert "L17" not in SUPPORTED_AUS and "L25" not in SUPPORTED_AUS
    assert len(set(SUPPORTED_AUS)) == len(SUPPORTED_AUS)


@pytest.mark.parametrize("code", SUPPORTED_AUS)
def test_unit_peak_and_locality(face, code):
    f = au_field(face, code)
    n = face.mesh.vertices.shape[0]
    assert f.shape == (n, 3) and f.dtype == np.float32
    norms = np.linalg.norm(f.astype(np.float64), axis=1)
    assert norms.max() == pytest.approx(1.0, abs=1e-6)
    assert np.all(norms[face.front == 0] == 0)  # ears and the back of the head never move
    assert np.mean(norms > 1e-6) < 0.1  # a local field, not a global warp


@pytest.mark.parametrize("code", UPPER)
def test_upper_face_aus_leave_the_mouth_still(face, code):
    for name in MOUTH:
        assert np.linalg.norm(_at(face, code, name)) < 1e-6, name


@pytest.mark.parametrize("code", LOWER)
def test_lower_face_aus_leave_the_brows_and_eyes_still(face, code):
    for name in (*BROWS, "upper_lid_left", "lower_lid_right"):
        assert np.linalg.norm(_at(face, code, name)) < 1e-6, name


@pytest.mark.parametrize("code", ONE_SIDED)
def test_one_sided_au_moves_its_own_side(face, code):
    x = face.mesh.vertices[:, 0]
    norms = np.linalg.norm(au_field(face, code), axis=1)
    own, other = (x > 0, x < 0) if code[0] == "L" else (x < 0, x > 0)
    assert norms[own].sum() >= 5.0 * norms[other].sum()
    assert np.all(norms[(x < -6.0) if code[0] == "L" else (x > 6.0)] == 0)


@pytest.mark.parametrize("number", sorted({c[1:] for c in ONE_SIDED}, key=int))
def test_right_is_the_mirror_of_left(face, number):
    left, right = au_field(face, f"L{number}"), au_field(face, f"R{number}")
    mirrored = left[_mirror_index(face)] * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
    assert np.abs(mirrored - right).max() < 1e-4


@pytest.mark.parametrize("number", sorted({c[1:] for c in ONE_SIDED}, key=int))
def test_bilateral_is_left_plus_right(face, number):
    both = au_field(face, f"AU{number}")
    summed = au_field(face, f"L{number}") + au_field(face, f"R{number}")
    assert np.abs(both - summed).max() < 0.1


@pytest.mark.parametrize(
    ("code", "name", "axis", "sign"),
    [
        ("AU1", "brow_inner_left", 1, 1),
        ("AU2", "brow_outer_left", 1, 1),
        ("AU4", "brow_inner_left", 1, -1),
        ("AU4", "brow_inner_left", 0, -1),  # drawn towards the midline
        ("AU4", "brow_inner_right", 0, 1),
        ("AU5", "upper_lid_left", 1, 1),
        ("AU6", "cheek_left", 1, 1),
        ("AU6", "lower_lid_left", 1, 1),
        ("AU7", "lower_lid_left", 1, 1),
        ("AU10", "upper_lip", 1, 1),
        ("AU12", "mouth_corner_left", 1, 1),
        ("AU12", "mouth_corner_left", 0, 1),  # outwards
        ("AU12", "mouth_corner_right", 0, -1),
        ("AU14", "mouth_corner_left", 2, -1),  # back into the cheek
        ("AU15", "mouth_corner_left", 1, -1),
        ("AU17", "chin", 1, 1),
        ("AU20", "mouth_corner_left", 0, 1),
        ("AU20", "mouth_corner_right", 0, -1),
        ("AU23", "upper_lip", 1, -1),  # lips drawn together
        ("AU23", "lower_lip", 1, 1),
        ("AU24", "upper_lip", 1, -1),
        ("AU25", "lower_lip", 1, -1),
        ("AU43", "upper_lid_left", 1, -1),
        ("AU45", "upper_lid_right", 1, -1),
    ],
)
def test_facs_directions(face, code, name, axis, sign):
    d = _at(face, code, name)
    assert sign * d[axis] > 0.1, d


def test_brow_aus_move_mainly_vertically(face):
    for code, sign in (("AU1", 1), ("AU4", -1)):
        f = au_field(face, code).astype(np.float64)
        brows = [face.landmarks[n] for n in BROWS]
        moving = f[brows][np.linalg.norm(f[brows], axis=1) > 0.05]
        assert len(moving) >= 2
        assert np.all(sign * moving[:, 1] > 0.75 * np.linalg.norm(moving, axis=1))


def test_nose_wrinkler_lifts_the_sides_of_the_nose(face):
    f = au_field(face, "AU9").astype(np.float64)
    v = face.mesh.vertices
    lay = face.layout
    side = (np.abs(v[:, 0] - (lay.nose_half_width - 6.0)) < 3.0) & (np.abs(v[:, 1] - 0.5 * (lay.eye_y + lay.subnasale_y)) < 4.0)
    assert side.any() and np.all(f[side, 1] > 0.5)


@pytest.mark.parametrize("code", SUPPORTED_AUS)
def test_large_amplitudes_do_not_fold_the_mesh(face, code):
    """6 mm (the top of the macro range) keeps every triangle's orientation; lids up to 90% shut."""
    amplitude = 0.9 * closure_amplitude(face) if code[-2:] in ("43", "45") else 6.0
    v0 = face.mesh.vertices.astype(np.float64)
    v1 = v0 + amplitude * au_field(face, code)

    def normals(v):
        t = v[face.mesh.faces]
        return np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])

    assert np.all(np.einsum("fd,fd->f", normals(v0), normals(v1)) > 0)


def test_closure_amplitude_shuts_the_eyes(face):
    full = closure_amplitude(face)
    lay = face.layout
    assert 0.6 * lay.lid_up < full < lay.lid_up + lay.lid_down
    closed = face.mesh.vertices + au_displacement(face, {"AU45": full})
    for side in ("left", "right"):
        up, low = (face.landmarks[f"{k}_lid_{side}"] for k in ("upper", "lower"))
        assert face.mesh.vertices[up, 1] - face.mesh.vertices[low, 1] > 7.0
        assert abs(closed[up, 1] - closed[low, 1]) < 1.5


def test_displacement_sums_scaled_fields(face):
    d = au_displacement(face, {"AU12": 2.0, "L1": 0.5})
    expected = 2.0 * au_field(face, "AU12") + 0.5 * au_field(face, "L1")
    assert d.dtype == np.float32 and np.allclose(d, expected, atol=1e-6)
    single = au_displacement(face, {"R15": 1.7})
    assert np.linalg.norm(single, axis=1).max() == pytest.approx(1.7, abs=1e-5)
    assert not au_displacement(face, {"AU4": 0.0}).any()


def test_fields_are_cached_and_read_only(face):
    assert au_field(face, "AU12") is au_field(face, "AU12")
    with pytest.raises(ValueError):
        au_field(face, "AU12")[0, 0] = 1.0


def test_fields_follow_the_identity():
    wide = make_face(Identity(mouth_width=56.0), "quick")
    narrow = make_face(Identity(mouth_width=44.0), "quick")
    for f in (wide, narrow):
        corner = au_field(f, "AU12")[f.landmarks["mouth_corner_left"]]
        assert np.linalg.norm(corner) > 0.8


@pytest.mark.parametrize(("code", "suggestion"), [("AU13", "AU1"), ("12", "AU12"), ("au4", "AU4"), ("l12", "L12"), ("L17", "AU17"), ("AU 25", "AU25")])
def test_unknown_code_suggests(face, code, suggestion):
    with pytest.raises(UnknownNameError, match=f"did you mean.*'{suggestion}'"):
        au_field(face, code)


def test_bad_amplitude_and_face(face):
    with pytest.raises(DataError, match=r"AU12.*>= 0"):
        au_displacement(face, {"AU12": -1.0})
    with pytest.raises(DataError, match="amplitude"):
        au_displacement(face, {"AU12": float("nan")})
    with pytest.raises(DataError, match="FaceModel"):
        au_field("not a face", "AU12")
