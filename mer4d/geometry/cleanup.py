"""Mesh cleanup: drop non-finite, degenerate and duplicate faces, small islands and unreferenced vertices.

Steps, in order (each face is counted once, by the first rule that removes it):

1. faces touching a vertex with a non-finite coordinate (for a sequence: in any frame);
2. degenerate faces: a repeated vertex index, or zero area up to float32 rounding (smallest
   altitude ``2 * area / longest edge`` at most ``degenerate_height_mm``);
3. duplicate faces: the same three vertex indices as an earlier face, in any order or winding
   (the first one is kept);
4. islands: connected pieces with fewer than ``min_island_fraction`` of the remaining faces (the
   largest piece is always kept). Connectivity joins vertices at exactly the same position, so the
   UV-seam copies a textured OBJ reader makes (see :mod:`mer4d.data.readers.mesh_seq`) do not cut
   the face into "islands";
5. vertices no kept face uses.

Duplicate *vertices* (same position, different index) are not merged: they are how UV seams are
stored. Per-vertex ``uvs``/``colors`` follow their vertex; see :mod:`mer4d.geometry.selection`
for the other attributes and for mapping vertex-index landmarks.

Example:
    >>> import numpy as np
    >>> from mer4d.core.containers import Mesh
    >>> v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], dtype=np.float32)
    >>> f = np.array([[0, 1, 2], [2, 1, 0], [0, 0, 1]])
    >>> cleaned, report = clean_mesh(Mesh(v, f))
    >>> cleaned.faces.shape, report.duplicate_faces, report.degenerate_faces, report.unreferenced_vertices
    ((1, 3), 1, 1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.optional import require
from mer4d.geometry.errors import check_faces, check_mesh, check_number, check_onset, check_seq
from mer4d.geometry.selection import VertexSelection

MIN_ISLAND_FRACTION = 0.05
"""Default island threshold: a face scan is one connected sheet and scanner debris (hair tufts,
background specks) is far below 5% of its faces. Lower it (or pass 0) to keep separate small parts
you need, e.g. eyeball meshes."""

DEGENERATE_HEIGHT_MM = 1e-4
"""Default degeneracy threshold (0.1 micrometre): float32 resolution at 100 mm is ~8e-6 mm, so
exactly collinear or coincident corners stored in float32 fall well below it, while real scan
triangles are hundreds of times taller."""


@dataclass(frozen=True, eq=False)
class CleanupReport:
    """What :func:`clean_mesh` / :func:`clean_mesh_seq` removed. Counts are disjoint.

    Attributes:
        vertices_in, faces_in: sizes before cleanup.
        vertices_out, faces_out: sizes after.
        nonfinite_vertices: vertices with a NaN/inf coordinate (all removed with their faces).
        nonfinite_faces: faces touching such a vertex.
        degenerate_faces: faces with a repeated vertex index or (near) zero area.
        duplicate_faces: repeats of an earlier face's vertex set.
        islands: connected pieces removed as too small.
        island_faces, island_vertices: their faces and vertices.
        unreferenced_vertices: finite vertices used by no kept face and not in a removed island
            (unused in the input, or used only by removed degenerate/duplicate faces).
        selection: the kept vertices/faces, to apply to other frames or to map vertex indices.
    """

    vertices_in: int
    faces_in: int
    vertices_out: int
    faces_out: int
    nonfinite_vertices: int
    nonfinite_faces: int
    degenerate_faces: int
    duplicate_faces: int
    islands: int
    island_faces: int
    island_vertices: int
    unreferenced_vertices: int
    selection: VertexSelection = field(repr=False)

    @property
    def changed(self) -> bool:
        """True when anything was removed."""
        return self.vertices_out != self.vertices_in or self.faces_out != self.faces_in

    def summary(self) -> str:
        """One line for logs."""
        return (f"cleanup: {self.vertices_in}->{self.vertices_out} vertices, {self.faces_in}->{self.faces_out} faces "
                f"(non-finite {self.nonfinite_faces} faces/{self.nonfinite_vertices} vertices, degenerate {self.degenerate_faces}, "
                f"duplicate {self.duplicate_faces}, {self.islands} islands with {self.island_faces} faces/{self.island_vertices} vertices, "
                f"unreferenced {self.unreferenced_vertices} vertices)")


def clean_mesh(mesh: Mesh, min_island_fraction: float = MIN_ISLAND_FRACTION,
               degenerate_height_mm: float = DEGENERATE_HEIGHT_MM) -> tuple[Mesh, CleanupReport]:
    """Clean one mesh (see the module docstring for the steps).

    Args:
        mesh: vertices (N, 3) mm, faces (F, 3).
        min_island_fraction: in [0, 1); pieces with fewer than this fraction of the faces are
            removed (0 keeps every piece).
        degenerate_height_mm: >= 0; faces whose smallest altitude is at most this are degenerate.

    Returns:
        ``(cleaned mesh, report)``; the cleaned mesh has N' <= N vertices in their original order.

    Raises:
        GeometryError: not a Mesh, face indices out of range, or a bad threshold.
    """
    mesh = check_mesh(mesh, "clean_mesh")
    finite = np.isfinite(mesh.vertices).all(axis=1)
    report = _plan(mesh.vertices, mesh.faces, finite, min_island_fraction, degenerate_height_mm, "clean_mesh")
    return report.selection.apply(mesh), report


def clean_mesh_seq(seq: MeshSeq, min_island_fraction: float = MIN_ISLAND_FRACTION,
                   degenerate_height_mm: float = DEGENERATE_HEIGHT_MM, onset_index: int = 0) -> tuple[MeshSeq, CleanupReport]:
    """Clean a fixed-topology sequence: decide on one frame, keep the same vertices/faces in every frame.

    Degenerate faces and islands are judged on frame ``onset_index`` only (a face that collapses in
    a later frame is an expression, not a defect); a vertex non-finite in *any* frame is removed so
    no NaN reaches later stages.

    Args:
        seq: vertices (T, N, 3), faces (F, 3).
        min_island_fraction, degenerate_height_mm: as in :func:`clean_mesh`.
        onset_index: position (0-based) of the frame the decision is made on.

    Returns:
        ``(cleaned sequence (T, N', 3), report)``.
    """
    seq = check_seq(seq, "clean_mesh_seq")
    onset = check_onset(seq, onset_index, "clean_mesh_seq")
    finite = np.isfinite(seq.vertices).all(axis=(0, 2))
    report = _plan(seq.vertices[onset], seq.faces, finite, min_island_fraction, degenerate_height_mm, "clean_mesh_seq")
    return report.selection.apply(seq), report


def _plan(vertices: np.ndarray, faces: np.ndarray, finite: np.ndarray, min_island_fraction: float,
          degenerate_height_mm: float, where: str) -> CleanupReport:
    fraction = check_number(min_island_fraction, f"{where}: min_island_fraction", low=0.0, high=1.0, high_open=True)
    height = check_number(degenerate_height_mm, f"{where}: degenerate_height_mm", low=0.0)
    n = vertices.shape[0]
    faces = check_faces(faces, n, where)
    alive = finite[faces].all(axis=1)
    nonfinite_faces = int((~alive).sum())

    degenerate = alive & _degenerate(vertices, faces, height)
    alive &= ~degenerate

    duplicate = np.zeros(faces.shape[0], dtype=bool)
    live_idx = np.flatnonzero(alive)
    if live_idx.size:
        _, first = np.unique(np.sort(faces[live_idx], axis=1), axis=0, return_index=True)
        duplicate[live_idx] = True
        duplicate[live_idx[first]] = False
    alive &= ~duplicate

    island = _islands(vertices, faces, alive, fraction)
    islands_removed = int(np.unique(island[island >= 0]).size)
    island_faces = island >= 0
    alive &= ~island_faces

    selection = VertexSelection.from_face_mask(faces, alive, n)
    island_vertices = int(np.unique(faces[island_faces]).size)
    nonfinite_vertices = int((~finite).sum())
    return CleanupReport(
        vertices_in=n, faces_in=int(faces.shape[0]), vertices_out=selection.n_kept_vertices, faces_out=selection.n_kept_faces,
        nonfinite_vertices=nonfinite_vertices, nonfinite_faces=nonfinite_faces, degenerate_faces=int(degenerate.sum()),
        duplicate_faces=int(duplicate.sum()), islands=islands_removed, island_faces=int(island_faces.sum()),
        island_vertices=island_vertices,
        unreferenced_vertices=n - selection.n_kept_vertices - island_vertices - nonfinite_vertices,
        selection=selection,
    )


def _degenerate(vertices: np.ndarray, faces: np.ndarray, height_mm: float) -> np.ndarray:
    """(F,) bool: repeated index, or smallest altitude <= height_mm (float64 geometry, NaN-safe)."""
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    with np.errstate(invalid="ignore"):
        corners = vertices[faces].astype(np.float64)  # (F, 3, 3)
        e0, e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 1], corners[:, 0] - corners[:, 2]
        twice_area = np.linalg.norm(np.cross(e0, -e2), axis=1)
        longest = np.sqrt(np.max(np.stack([(e * e).sum(axis=1) for e in (e0, e1, e2)]), axis=0))
        flat = twice_area <= height_mm * longest  # smallest altitude = 2A / longest edge; coincident corners give 0 <= 0
    return repeated | flat


def _islands(vertices: np.ndarray, faces: np.ndarray, alive: np.ndarray, fraction: float) -> np.ndarray:
    """(F,) int64: the component id of each live face to remove, -1 elsewhere."""
    out = np.full(faces.shape[0], -1, dtype=np.int64)
    live_idx = np.flatnonzero(alive)
    if fraction == 0.0 or live_idx.size == 0:
        return out
    sparse = require("scipy.sparse", purpose="island detection in mesh cleanup", hint="pip install scipy")
    csgraph = require("scipy.sparse.csgraph", purpose="island detection in mesh cleanup", hint="pip install scipy")
    live = faces[live_idx]
    used, local = np.unique(live.reshape(-1), return_inverse=True)
    _, node = np.unique(vertices[used], axis=0, return_inverse=True)  # vertices at one position are one node
    tri = node.reshape(-1)[local].reshape(-1, 3)
    k = int(node.max()) + 1
    rows = np.concatenate([tri[:, 0], tri[:, 1]])
    cols = np.concatenate([tri[:, 1], tri[:, 2]])
    graph = sparse.coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(k, k))
    _, labels = csgraph.connected_components(graph, directed=False)
    comp = labels[tri[:, 0]]
    counts = np.bincount(comp)
    small = counts < fraction * live_idx.size
    small[np.argmax(counts)] = False
    drop = small[comp]
    out[live_idx[drop]] = comp[drop]
    return out
