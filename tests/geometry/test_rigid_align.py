"""Rigid transforms, Kabsch/Umeyama fits and landmark alignment estimated once per clip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import ShapeError, UnknownNameError
from mer4d.geometry import (
    ALIGNMENT_LANDMARKS,
    CANONICAL_LANDMARKS,
    GeometryError,
    RigidTransform,
    align_clip,
    align_to_landmarks,
    canonical_landmarks,
    fit_rigid,
    fit_to_template,
    transform_mesh,
)
from mer4d.geometry.template import LANDMARK_NAMES
from mer4d.synth.face import make_face
from mer4d.synth.identity import Identity, sample_identity


def random_transform(rng: np.random.Generator, max_deg: float = 180.0, max_mm: float = 100.0) -> RigidTransform:
    axis = rng.normal(size=3)
    angle = np.radians(rng.uniform(0.0, max_deg))
    return RigidTransform(Rotation.from_rotvec(angle * axis / np.linalg.norm(axis)).as_matrix(), rng.uniform(-max_mm, max_mm, 3))


@pytest.fixture(scope="module")
def face():
    return make_face(Identity())


def test_kabsch_recovers_a_random_rigid_motion_in_float64():
    rng = np.random.default_rng(0)
    for _ in range(5):
        truth = random_transform(rng)
        src = rng.normal(scale=50.0, size=(9, 3))
        fit = fit_rigid(src, truth.apply(src))
        np.testing.assert_allclose(fit.rotation, truth.rotation, atol=1e-9)
        np.testing.assert_allclose(fit.translation, truth.translation, atol=1e-6)
        assert fit.scale == 1.0


def test_umeyama_recovers_scale_and_rigid_fit_ignores_it():
    rng = np.random.default_rng(1)
    truth = RigidTransform(random_transform(rng).rotation, rng.normal(size=3), scale=1.3)
    src = rng.normal(scale=30.0, size=(6, 3))
    fit = fit_rigid(src, truth.apply(src), scale=True)
    assert abs(fit.scale - 1.3) < 1e-9
    np.testing.assert_allclose(fit.apply(src), truth.apply(src), atol=1e-6)
    assert fit_rigid(src, truth.apply(src)).scale == 1.0


def test_weights_and_noise():
    rng = np.random.default_rng(2)
    truth = random_transform(rng, 30.0, 20.0)
    src = rng.normal(scale=40.0, size=(8, 3))
    dst = truth.apply(src)
    dst[0] += 25.0  # an outlier, down-weighted to zero
    fit = fit_rigid(src, dst, weights=np.r_[0.0, np.ones(7)])
    np.testing.assert_allclose(fit.matrix, truth.matrix, atol=1e-9)


def test_transform_algebra_and_dtypes():
    rng = np.random.default_rng(3)
    a, b = random_transform(rng), random_transform(rng)
    pts = rng.normal(size=(4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(a.inverse().apply(a.apply(pts.astype(np.float64))), pts, atol=1e-9)
    np.testing.assert_allclose((a @ b).apply(pts.astype(np.float64)), a.apply(b.apply(pts.astype(np.float64))), atol=1e-9)
    assert a.apply(pts).dtype == np.float32 and a.apply(pts.astype(int)).dtype == np.float64
    back = RigidTransform.from_matrix(a.matrix)
    np.testing.assert_allclose(back.matrix, a.matrix, atol=1e-12)
    scaled = RigidTransform(a.rotation, a.translation, 2.0)
    np.testing.assert_allclose(scaled.inverse().apply(scaled.apply(pts.astype(np.float64))), pts, atol=1e-9)
    assert RigidTransform.identity().angle_deg == 0.0
    assert abs(RigidTransform.from_euler_deg((0, 3, 0)).angle_deg - 3.0) < 1e-9
    with pytest.raises(AttributeError):
        a.scale = 2.0  # frozen


def test_bad_transforms_and_fits_are_refused():
    with pytest.raises(GeometryError, match="determinant \\+1"):
        RigidTransform(np.diag([1.0, 1.0, -1.0]), np.zeros(3))
    with pytest.raises(ShapeError, match=r"rotation: expected shape \(3, 3\)"):
        RigidTransform(np.eye(4), np.zeros(3))
    with pytest.raises(GeometryError, match="scale"):
        RigidTransform(np.eye(3), np.zeros(3), scale=0.0)
    pts = np.random.default_rng(4).normal(size=(5, 3))
    with pytest.raises(ShapeError, match=r"target: expected shape \(L, 3\).*dimension 'L' is 5 elsewhere but 4 here"):
        fit_rigid(pts, pts[:4])
    with pytest.raises(GeometryError, match="at least 3 point pairs"):
        fit_rigid(pts[:2], pts[:2])
    line = np.outer(np.arange(5.0), [1.0, 2.0, 3.0])
    with pytest.raises(GeometryError, match="collinear"):
        fit_rigid(line, line)
    with pytest.raises(GeometryError, match="finite"):
        fit_rigid(np.where(np.eye(5, 3) > 0, np.nan, pts), pts)


def test_canonical_template_is_symmetric_and_named():
    for name, (x, y, z) in CANONICAL_LANDMARKS.items():
        mirror = name.replace("_left", "_R").replace("_right", "_left").replace("_R", "_right")
        assert CANONICAL_LANDMARKS[mirror] == (-x, y, z)
    assert set(CANONICAL_LANDMARKS) == set(LANDMARK_NAMES) and set(ALIGNMENT_LANDMARKS) <= set(CANONICAL_LANDMARKS)
    assert canonical_landmarks(["nose_tip", "chin"]).shape == (2, 3)
    with pytest.raises(UnknownNameError, match="did you mean 'nose_tip'"):
        canonical_landmarks(["nose_tipp"])


def test_simulated_faces_land_near_the_canonical_pose():
    rng = np.random.default_rng(5)
    for identity in (Identity(), sample_identity(rng), sample_identity(rng)):
        f = make_face(identity)
        fit = fit_to_template(f.landmark_positions(), LANDMARK_NAMES)
        assert fit.angle_deg < 3.0 and np.linalg.norm(fit.translation) < 15.0


def test_landmark_order_does_not_matter_and_missing_names_say_what_is_missing(face):
    rng = np.random.default_rng(6)
    lm = RigidTransform.from_euler_deg((8, -12, 4), (5, -3, 20)).apply(face.landmark_positions().astype(np.float64))
    fit = fit_to_template(lm, LANDMARK_NAMES)
    order = rng.permutation(len(LANDMARK_NAMES))
    shuffled = fit_to_template(lm[order], [LANDMARK_NAMES[i] for i in order])
    np.testing.assert_allclose(shuffled.matrix, fit.matrix, atol=1e-9)
    keep = [i for i, n in enumerate(LANDMARK_NAMES) if n != "nose_tip"]
    with pytest.raises(UnknownNameError, match=r"'nose_tip'.* missing from the clip's landmarks. Available: brow_inner_left"):
        fit_to_template(lm[keep], [LANDMARK_NAMES[i] for i in keep])
    renamed = ["NoseTip" if n == "nose_tip" else n for n in LANDMARK_NAMES]
    with pytest.raises(UnknownNameError, match=r"'NoseTip' \(did you mean 'nose_tip'\?\) missing from the template"):
        fit_to_template(lm, renamed, names=[n if n != "nose_tip" else "NoseTip" for n in ALIGNMENT_LANDMARKS])
    with pytest.raises(GeometryError, match="25 landmarks but 24 names"):
        fit_to_template(lm, LANDMARK_NAMES[:-1])
    with pytest.raises(GeometryError, match="at least 3 landmark names"):
        fit_to_template(lm, LANDMARK_NAMES, names=["nose_tip", "chin"])
    holes = lm.copy()
    holes[[LANDMARK_NAMES.index(n) for n in ALIGNMENT_LANDMARKS[2:]]] = np.nan
    with pytest.raises(GeometryError, match="only 2 of the landmarks"):
        fit_to_template(holes, LANDMARK_NAMES)


def jittered_clip(face, onset_pose: RigidTransform, n_frames: int = 5, seed: int = 7):
    """Frames ``onset_pose ∘ J_t`` (neutral face), with J_0 = identity and J_t a small random rigid jitter."""
    rng = np.random.default_rng(seed)
    neutral = face.mesh.vertices.astype(np.float64)
    jitters = [RigidTransform.identity()] + [random_transform(rng, 1.0, 1.0) for _ in range(n_frames - 1)]
    frames = np.stack([(onset_pose @ j).apply(neutral) for j in jitters]).astype(np.float32)
    seq = MeshSeq(frames, face.mesh.faces, 60.0, uvs=face.mesh.uvs, texture=face.mesh.texture,
                  landmarks=face.landmark_positions(frames), landmark_names=LANDMARK_NAMES, frame_numbers=np.arange(100, 100 + n_frames))
    return seq, jitters


def test_alignment_is_estimated_once_so_in_clip_jitter_is_kept(face):
    onset_pose = RigidTransform.from_euler_deg((10, -20, 5), (15, -10, 30))
    seq, jitters = jittered_clip(face, onset_pose)
    template = dict(zip(LANDMARK_NAMES, face.landmark_positions().astype(np.float64), strict=True))
    aligned, transform = align_to_landmarks(seq, template=template)
    np.testing.assert_allclose(transform.matrix, onset_pose.inverse().matrix, atol=1e-4)
    neutral = face.mesh.vertices.astype(np.float64)
    assert np.abs(aligned.vertices[0] - neutral).max() < 2e-3  # the onset is canonical (float32 frames)
    for t in range(1, len(seq)):
        kept = jitters[t].apply(neutral)
        assert np.abs(aligned.vertices[t] - kept).max() < 2e-3  # the jitter is still there ...
        assert np.abs(aligned.vertices[t] - neutral).max() > 0.3  # ... and it is not small
    np.testing.assert_allclose(aligned.landmarks, transform.apply(seq.landmarks), atol=1e-4)
    assert aligned.vertices.dtype == np.float32 and aligned.landmark_names == LANDMARK_NAMES
    np.testing.assert_array_equal(aligned.frame_numbers, seq.frame_numbers)
    assert aligned.uvs is seq.uvs and aligned.texture is seq.texture
    # Another reference frame gives the transform that makes *that* frame canonical.
    _, from_two = align_to_landmarks(seq, template=template, onset_index=2)
    np.testing.assert_allclose(from_two.matrix, (onset_pose @ jitters[2]).inverse().matrix, atol=1e-4)


def test_default_template_and_auto_method(face):
    seq, _ = jittered_clip(face, RigidTransform.from_euler_deg((-6, 15, 2), (-5, 8, 12)), n_frames=2)
    aligned, transform = align_clip(seq)
    _, direct = align_to_landmarks(seq)
    np.testing.assert_allclose(transform.matrix, direct.matrix)
    onset = dict(zip(LANDMARK_NAMES, aligned.landmarks[0], strict=True))
    err = [np.linalg.norm(onset[n] - np.array(CANONICAL_LANDMARKS[n])) for n in ALIGNMENT_LANDMARKS]
    assert max(err) < 0.5  # the default identity is the template's face


def test_transform_mesh_and_bad_clips(face):
    moved = transform_mesh(face.mesh, RigidTransform.from_euler_deg((0, 0, 0), (1, 2, 3)))
    assert isinstance(moved, Mesh)
    np.testing.assert_allclose(moved.vertices - face.mesh.vertices, np.broadcast_to([1, 2, 3], moved.vertices.shape), atol=1e-4)
    bare = MeshSeq(face.mesh.vertices[None], face.mesh.faces, 30.0)
    with pytest.raises(GeometryError, match="no 3D landmarks"):
        align_to_landmarks(bare)
    with pytest.raises(GeometryError, match="no usable landmarks .*no template_mesh"):
        align_clip(bare)
    with pytest.raises(GeometryError, match="method must be"):
        align_clip(bare, method="procrustes")
    with pytest.raises(GeometryError, match="expected a RigidTransform"):
        transform_mesh(face.mesh, np.eye(4))
    with pytest.raises(GeometryError, match="expected a mer4d MeshSeq, found Mesh"):
        align_to_landmarks(face.mesh)
