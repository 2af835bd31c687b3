"""Facial crop of aligned faces: keeps the face, drops ears and far vertices, same selection in every frame."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.geometry import FaceCrop, GeometryError, RigidTransform, align_clip, clean_mesh_seq, crop_mesh, crop_mesh_seq
from mer4d.geometry.template import LANDMARK_NAMES
from mer4d.synth.face import make_face
from mer4d.synth.identity import Identity, sample_identity


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(3)
    return [make_face(Identity()), make_face(sample_identity(rng))]


def test_default_crop_keeps_the_face_and_drops_the_ears(faces):
    for face in faces:
        cropped, selection = crop_mesh(face.mesh)
        v = face.mesh.vertices
        assert (selection.remap(face.landmark_indices) >= 0).all()  # every landmark vertex is kept
        ears = np.flatnonzero((np.abs(v[:, 0]) > 65.0) & (v[:, 2] < 10.0))
        assert ears.size > 100 and (selection.remap(ears) == -1).all()
        far = np.linalg.norm(v - face.landmark("nose_tip"), axis=1) > 160.0
        assert far.any() and (selection.remap(np.flatnonzero(far)) == -1).all()
        assert 0.4 < cropped.vertices.shape[0] / v.shape[0] < 0.8
        # Faces are re-indexed into the kept vertices and describe the same triangles.
        assert cropped.faces.max() == cropped.vertices.shape[0] - 1
        np.testing.assert_array_equal(cropped.vertices[cropped.faces], v[face.mesh.faces[selection.face_index]])
        np.testing.assert_array_equal(cropped.uvs, face.mesh.uvs[selection.vertex_index])


def test_crop_selects_on_the_onset_and_keeps_the_same_vertices_in_every_frame(faces):
    face = faces[0]
    neutral = face.mesh.vertices.astype(np.float64)
    poses = [RigidTransform.from_euler_deg((5, 10, 0), (3, 2, 1)), RigidTransform.from_euler_deg((6, 12, 1), (6, 0, 3))]
    frames = np.stack([p.apply(neutral) for p in poses]).astype(np.float32)
    seq = MeshSeq(frames, face.mesh.faces, 60.0, uvs=face.mesh.uvs, texture=face.mesh.texture,
                  landmarks=face.landmark_positions(frames), landmark_names=LANDMARK_NAMES)
    cleaned, _ = clean_mesh_seq(seq)
    aligned, _ = align_clip(cleaned)
    cropped, selection = crop_mesh_seq(aligned)
    np.testing.assert_array_equal(cropped.vertices, aligned.vertices[:, selection.vertex_index])
    np.testing.assert_array_equal(cropped.landmarks, aligned.landmarks)
    assert cropped.landmark_names == LANDMARK_NAMES and cropped.texture is aligned.texture
    # The nose-tip landmark, the most forward vertex and the explicit anchor agree on an aligned simulator face.
    _, by_max_z = crop_mesh_seq(MeshSeq(aligned.vertices, aligned.faces, 60.0))
    _, by_anchor = crop_mesh_seq(aligned, anchor=aligned.landmarks[0, LANDMARK_NAMES.index("nose_tip")])
    np.testing.assert_array_equal(by_max_z.vertex_index, selection.vertex_index)
    np.testing.assert_array_equal(by_anchor.vertex_index, selection.vertex_index)
    # Selecting on frame 1 instead is a different (but equally consistent) choice.
    other, sel1 = crop_mesh_seq(aligned, onset_index=1)
    np.testing.assert_array_equal(other.vertices, aligned.vertices[:, sel1.vertex_index])


def test_box_and_custom_regions():
    y, x = np.mgrid[-10:11, -10:11].astype(np.float64) * 10.0  # a 200 x 200 mm plane at z = 0, nose tip at the origin
    v = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1).astype(np.float32)
    k = (np.arange(20)[:, None] * 21 + np.arange(20)[None, :]).ravel()
    f = np.concatenate([np.stack([k, k + 1, k + 22], 1), np.stack([k, k + 22, k + 21], 1)]).astype(np.int64)
    plane = Mesh(v, f)
    box = FaceCrop(shape="box", radii_mm=(30.0, 50.0, 10.0), offset_mm=(0.0, 0.0, 0.0))
    cropped, _ = crop_mesh(plane, anchor=(0.0, 0.0, 0.0), crop=box)
    assert cropped.vertices.shape[0] == 7 * 11 and np.abs(cropped.vertices[:, 0]).max() == 30.0
    ball = FaceCrop(radii_mm=(45.0, 45.0, 45.0), offset_mm=(0.0, 0.0, 0.0))
    inside = ball.mask(v, np.zeros(3))
    assert inside.sum() == int((np.linalg.norm(v, axis=1) <= 45.0).sum())
    # A mesh without faces is a point cloud: its inside vertices are kept.
    points, sel = crop_mesh(Mesh(v, np.zeros((0, 3), np.int64)), anchor=(0, 0, 0), crop=ball)
    assert points.vertices.shape[0] == inside.sum() and sel.n_kept_faces == 0


def test_bad_crops_are_refused(faces):
    mesh = faces[0].mesh
    with pytest.raises(GeometryError, match="FaceCrop.shape"):
        FaceCrop(shape="sphere")
    with pytest.raises(GeometryError, match="radii_mm: expected a finite number in \\(0, inf\\)"):
        FaceCrop(radii_mm=(80.0, 0.0, 80.0))
    with pytest.raises(GeometryError, match="three numbers"):
        FaceCrop(offset_mm=(0.0, 1.0))
    with pytest.raises(GeometryError, match="anchor must be a finite"):
        crop_mesh(mesh, anchor=(0.0, 1.0))
    with pytest.raises(GeometryError, match="keeps nothing.*align the clip"):
        crop_mesh(mesh, anchor=(0.0, 0.0, 1000.0))
    with pytest.raises(GeometryError, match="crop must be a FaceCrop"):
        crop_mesh(mesh, crop={"radii_mm": (1, 1, 1)})
    with pytest.raises(GeometryError, match="expected a mer4d MeshSeq"):
        crop_mesh_seq(mesh)
