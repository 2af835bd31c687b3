"""Mesh cleanup: planted defects are removed and counted; attributes follow their vertices; sequences share one selection."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.geometry import CleanupReport, GeometryError, VertexSelection, clean_mesh, clean_mesh_seq


def grid(rows: int = 8, cols: int = 8, spacing: float = 2.0, origin=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """A flat (rows x cols) vertex grid in the XY plane and its 2*(rows-1)*(cols-1) triangles."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64) * spacing
    v = np.stack([x.ravel(), y.ravel(), np.zeros(rows * cols)], axis=1) + np.asarray(origin)
    k = (np.arange(rows - 1)[:, None] * cols + np.arange(cols - 1)[None, :]).ravel()
    f = np.concatenate([np.stack([k, k + 1, k + cols + 1], 1), np.stack([k, k + cols + 1, k + cols], 1)])
    return v.astype(np.float32), f.astype(np.int64)


@pytest.fixture
def dirty() -> tuple[Mesh, np.ndarray, dict[str, int]]:
    """A 8x8 grid (98 faces) with every kind of defect planted, its clean faces, and the expected counts."""
    v, f = grid()
    n = v.shape[0]
    extra_v = [
        [100.0, 0.0, 0.0], [101.0, 0.0, 0.0], [100.0, 1.0, 0.0], [101.0, 1.0, 0.0],  # n..n+3: an island of 2 faces
        [0.0, 0.0, 50.0], [1.0, 0.0, 50.0], [2.0, 0.0, 50.0],  # n+4..n+6: collinear corners
        [7.0, 7.0, 7.0], [7.0, 7.0, 7.0], [8.0, 8.0, 8.0],  # n+7..n+9: two coincident corners
        [np.nan, 0.0, 0.0],  # n+10: non-finite
        [-30.0, -30.0, -30.0], [-31.0, -30.0, -30.0], [-32.0, -31.0, -30.0],  # n+11..n+13: never used
    ]
    extra_f = [
        [n, n + 1, n + 3], [n, n + 3, n + 2],  # island
        [0, 0, 1], [n + 4, n + 5, n + 6], [n + 7, n + 8, n + 9],  # degenerate: repeated index, collinear, coincident
        list(f[3]), list(f[10][[1, 2, 0]]), list(f[20][::-1]),  # duplicates: same, rotated, flipped winding
        [0, 1, n + 10],  # touches the NaN vertex
    ]
    vertices = np.concatenate([v, np.array(extra_v, dtype=np.float32)])
    faces = np.concatenate([f, np.array(extra_f, dtype=np.int64)])
    uvs = np.random.default_rng(0).uniform(size=(vertices.shape[0], 2)).astype(np.float32)
    colors = np.arange(vertices.shape[0] * 3, dtype=np.int64).reshape(-1, 3).astype(np.uint8)
    mesh = Mesh(vertices, faces, uvs=uvs, texture=np.zeros((4, 4, 3), np.uint8), colors=colors)
    expected = dict(nonfinite_vertices=1, nonfinite_faces=1, degenerate_faces=3, duplicate_faces=3, islands=1, island_faces=2,
                    island_vertices=4, unreferenced_vertices=3 + 3 + 3)  # never used + collinear + coincident corners
    return mesh, f, expected


def test_planted_defects_are_removed_and_counted(dirty):
    mesh, clean_faces, expected = dirty
    cleaned, report = clean_mesh(mesh)
    assert isinstance(report, CleanupReport)
    for name, value in expected.items():
        assert getattr(report, name) == value, name
    assert (report.vertices_in, report.faces_in) == (mesh.vertices.shape[0], mesh.faces.shape[0])
    assert (report.vertices_out, report.faces_out) == (64, clean_faces.shape[0]) == (cleaned.vertices.shape[0], cleaned.faces.shape[0])
    assert report.changed and "duplicate 3" in report.summary()
    # The grid survives untouched, in order, and its vertices keep their attributes.
    np.testing.assert_array_equal(cleaned.faces, clean_faces)
    np.testing.assert_array_equal(cleaned.vertices, mesh.vertices[:64])
    idx = report.selection.vertex_index
    np.testing.assert_array_equal(cleaned.uvs, mesh.uvs[idx])
    np.testing.assert_array_equal(cleaned.colors, mesh.colors[idx])
    assert cleaned.texture is mesh.texture


def test_clean_mesh_is_idempotent_and_keeps_a_clean_mesh(dirty):
    cleaned, _ = clean_mesh(dirty[0])
    again, report = clean_mesh(cleaned)
    assert not report.changed
    np.testing.assert_array_equal(again.faces, cleaned.faces)


def test_uv_seam_copies_do_not_make_islands():
    # Cut the last column of faces into a separate UV chart whose seam vertices are copies (same
    # positions, new indices): by index it is a 14-face piece, 3.4% of the 406 faces.
    v, f = grid(rows=8, cols=30)
    seam = np.flatnonzero(np.isclose(v[:, 0], 2.0 * 28))  # the column where the last chart starts
    copies = np.arange(v.shape[0], v.shape[0] + seam.size)
    last_chart = (v[f][:, :, 0] >= 2.0 * 28).all(axis=1)
    remap = np.arange(v.shape[0])
    remap[seam] = copies
    f = f.copy()
    f[last_chart] = remap[f[last_chart]]
    vertices = np.concatenate([v, v[seam]])
    cleaned, report = clean_mesh(Mesh(vertices, f), min_island_fraction=0.05)
    assert report.islands == 0 and report.faces_out == f.shape[0]
    # The same chart moved away is a real island and goes.
    moved = vertices.copy()
    moved[copies, 2] += 10.0
    moved[np.unique(f[last_chart])[~np.isin(np.unique(f[last_chart]), copies)], 2] += 10.0
    _, report = clean_mesh(Mesh(moved, f), min_island_fraction=0.05)
    assert report.islands == 1 and report.island_faces == int(last_chart.sum())


def test_island_fraction_zero_keeps_every_piece_and_the_largest_always_stays(dirty):
    _, report = clean_mesh(dirty[0], min_island_fraction=0.0)
    assert report.islands == 0 and report.faces_out == dirty[1].shape[0] + 2
    v1, f1 = grid(4, 4)
    v2, f2 = grid(4, 4, origin=(50, 0, 0))
    _, report = clean_mesh(Mesh(np.concatenate([v1, v2]), np.concatenate([f1, f2 + 16])), min_island_fraction=0.9)
    assert report.islands == 1 and report.faces_out == f1.shape[0]  # two equal halves: one is kept


def test_sequence_cleanup_uses_one_selection_for_every_frame():
    v, f = grid()
    f_all = np.concatenate([f, f[20:22], [[0, 0, 1]]])  # 2 duplicates, 1 degenerate
    extra = np.array([[90.0, 90.0, 90.0]], dtype=np.float32)  # unreferenced
    base = np.concatenate([v, extra])
    frames = np.stack([base + np.float32(t) for t in range(4)])
    frames[2, 48:56] = frames[2, 40:48]  # frame 2 collapses rows 5-6 onto each other: an expression, not a defect
    frames[3, 10] = np.nan  # a hole in a later frame removes the vertex everywhere
    names = ("a", "b")
    landmarks = np.random.default_rng(1).normal(size=(4, 2, 3)).astype(np.float32)
    seq = MeshSeq(frames, f_all, 60.0, landmarks=landmarks, landmark_names=names, frame_numbers=np.arange(10, 14))
    cleaned, report = clean_mesh_seq(seq)
    assert (report.duplicate_faces, report.degenerate_faces, report.nonfinite_vertices, report.unreferenced_vertices) == (2, 1, 1, 1)
    faces_with_10 = int((f == 10).any(axis=1).sum())
    assert report.nonfinite_faces == faces_with_10 and cleaned.faces.shape[0] == f.shape[0] - faces_with_10
    idx = report.selection.vertex_index
    np.testing.assert_array_equal(cleaned.vertices, frames[:, idx])
    assert np.isfinite(cleaned.vertices).all()
    np.testing.assert_array_equal(cleaned.landmarks, landmarks)
    assert cleaned.landmark_names == names and cleaned.fps == 60.0
    np.testing.assert_array_equal(cleaned.frame_numbers, np.arange(10, 14))
    # Vertex-index landmarks are remapped; removed vertices map to -1.
    np.testing.assert_array_equal(report.selection.remap([0, 10, 11, 64]), [0, -1, 10, -1])
    # The decision frame is selectable: on frame 2 the collapsed band's 14 faces are degenerate.
    _, on_two = clean_mesh_seq(seq, onset_index=2)
    assert on_two.degenerate_faces == 1 + 14


def test_selection_refuses_another_topology(dirty):
    _, report = clean_mesh(dirty[0])
    v, f = grid(3, 3)
    with pytest.raises(GeometryError, match="same topology"):
        report.selection.apply(Mesh(v, f))
    with pytest.raises(GeometryError, match="integer vertex indices"):
        report.selection.remap([1.5])
    assert isinstance(report.selection, VertexSelection)


@pytest.mark.parametrize("kwargs, match", [
    ({"min_island_fraction": 1.0}, r"min_island_fraction: expected a finite number in \[0, 1\)"),
    ({"min_island_fraction": -0.1}, "min_island_fraction"),
    ({"degenerate_height_mm": float("nan")}, "degenerate_height_mm"),
])
def test_bad_thresholds_are_refused(dirty, kwargs, match):
    with pytest.raises(GeometryError, match=match):
        clean_mesh(dirty[0], **kwargs)


def test_bad_meshes_are_refused():
    v, f = grid(3, 3)
    with pytest.raises(GeometryError, match=r"face indices must lie in \[0, 9\).*found \[0, 9\]"):
        clean_mesh(Mesh(v, np.concatenate([f, [[0, 1, 9]]])))
    with pytest.raises(GeometryError, match="integer vertex indices"):
        clean_mesh(Mesh(v, f.astype(np.float32)))
    with pytest.raises(GeometryError, match="expected a mer4d Mesh, found MeshSeq"):
        clean_mesh(MeshSeq(v[None], f, 30.0))
    with pytest.raises(GeometryError, match="expected a mer4d MeshSeq"):
        clean_mesh_seq(Mesh(v, f))
    with pytest.raises(GeometryError, match=r"onset_index must be an integer position in \[0, 1\)"):
        clean_mesh_seq(MeshSeq(v[None], f, 30.0), onset_index=1)
