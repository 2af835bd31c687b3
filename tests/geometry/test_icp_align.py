"""ICP alignment (Open3D) of a simulated face: recovers a small rigid motion and moves the whole clip by it."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import ShapeError
from mer4d.geometry import GeometryError, IcpOptions, RigidTransform, align_clip, align_icp, icp
from mer4d.synth.face import make_face
from mer4d.synth.identity import Identity

pytest.importorskip("open3d")


@pytest.fixture(scope="module")
def face():
    return make_face(Identity())


def pose_error(estimate: RigidTransform, truth: RigidTransform, points: np.ndarray) -> tuple[float, float]:
    """Residual of ``estimate ∘ truth`` (identity when the estimate undoes the truth): degrees and the largest displacement over ``points``, mm."""
    residual = estimate @ truth
    return residual.angle_deg, float(np.abs(residual.apply(points.astype(np.float64)) - points).max())


@pytest.mark.parametrize("method, max_deg, max_mm", [
    ("point_to_plane", 0.2, 0.3),
    ("point_to_point", 1.0, 3.0),  # improves the pose but stalls on the head's sliding direction (see IcpOptions)
])
def test_icp_recovers_a_small_rigid_motion(face, method, max_deg, max_mm):
    truth = RigidTransform.from_euler_deg((1.7, -2.0, 1.4), (2.5, -2.0, 2.4))  # about 3 degrees, 4 mm
    assert 2.9 < truth.angle_deg < 3.1 and abs(np.linalg.norm(truth.translation) - 4.0) < 0.05
    rng = np.random.default_rng(0)
    moved = truth.apply(face.mesh.vertices) + rng.normal(scale=0.05, size=face.mesh.vertices.shape).astype(np.float32)
    result = icp(moved, face.mesh, options=IcpOptions(method=method))
    degrees, mm = pose_error(result.transform, truth, face.mesh.vertices)
    assert degrees < max_deg and mm < max_mm
    assert result.fitness > 0.9
    if method == "point_to_plane":
        assert result.fitness > 0.99 and result.inlier_rmse_mm < 0.2  # noise is 0.05 mm per coordinate


def test_align_icp_moves_every_frame_by_the_onset_transform(face):
    truth = RigidTransform.from_euler_deg((-2.0, 1.5, 1.0), (-3.0, 1.0, 2.5))
    neutral = face.mesh.vertices.astype(np.float64)
    wobble = RigidTransform.from_euler_deg((0.0, 0.8, 0.0), (0.0, 0.0, 0.6))  # later frame: head moved after the onset
    frames = np.stack([truth.apply(neutral), (truth @ wobble).apply(neutral)]).astype(np.float32)
    seq = MeshSeq(frames, face.mesh.faces, 60.0)
    aligned, transform = align_icp(seq, face.mesh)
    assert pose_error(transform, truth, face.mesh.vertices)[0] < 0.2
    np.testing.assert_allclose(aligned.vertices, transform.apply(frames), atol=1e-4)
    assert np.abs(aligned.vertices[0] - neutral).max() < 0.3
    assert np.abs(aligned.vertices[1] - wobble.apply(neutral)).max() < 0.3  # the wobble is kept
    # A point-cloud target (normals estimated) and another clip as the target work too.
    _, from_points = align_icp(seq, face.mesh.vertices)
    assert pose_error(from_points, truth, face.mesh.vertices)[0] < 0.2
    reference = MeshSeq(face.mesh.vertices[None], face.mesh.faces, 60.0)
    _, auto = align_clip(seq, template_mesh=reference)  # no landmarks: ICP
    assert pose_error(auto, truth, face.mesh.vertices)[0] < 0.2


def test_icp_refuses_a_hopeless_start_and_bad_options(face):
    far = face.mesh.vertices + np.float32(300.0)
    with pytest.raises(GeometryError, match="start pose is probably too far off.*init="):
        icp(far, face.mesh)
    with pytest.raises(GeometryError, match="did you mean 'point_to_plane'"):
        IcpOptions(method="point_to_plan")
    with pytest.raises(GeometryError, match="max_correspondence_mm"):
        IcpOptions(max_correspondence_mm=(5.0, -1.0))
    with pytest.raises(GeometryError, match="max_iterations"):
        IcpOptions(max_iterations=0)
    with pytest.raises(GeometryError, match="min_fitness"):
        IcpOptions(min_fitness=1.5)
    with pytest.raises(GeometryError, match="scale 1"):
        icp(face.mesh.vertices, face.mesh, init=RigidTransform(np.eye(3), np.zeros(3), 1.1))
    with pytest.raises(ShapeError, match=r"icp source: expected shape \(N, 3\)"):
        icp(face.mesh.vertices[:, :2], face.mesh)
