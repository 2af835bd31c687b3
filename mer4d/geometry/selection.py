"""A vertex/face selection computed once and applied to a mesh or to every frame of a sequence.

Cleanup and cropping decide which vertices and faces to keep on one frame; a :class:`VertexSelection`
records that decision so the same subset (hence the same topology) is taken from every frame of a
:class:`~mer4d.core.containers.MeshSeq`.

What happens to per-vertex data: ``uvs`` and ``colors`` follow their vertex (rows are taken with the
vertices); the texture image, ``fps``, ``frame_numbers``, 3D ``landmarks`` (positions, not vertex
indices) and ``landmark_names`` are carried unchanged. Landmarks given as vertex indices (e.g.
:attr:`mer4d.synth.face.FaceModel.landmarks`) are mapped with :meth:`VertexSelection.remap`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.shapes import check_shape
from mer4d.geometry.errors import GeometryError, check_faces

M = TypeVar("M", Mesh, MeshSeq)


@dataclass(frozen=True, eq=False)
class VertexSelection:
    """Which vertices and faces of an (N vertices, F faces) mesh to keep, and the re-indexed faces.

    Attributes:
        vertex_index: (N', ) int64 increasing original indices of the kept vertices; new vertex ``i``
            is old vertex ``vertex_index[i]``.
        face_index: (F', ) int64 increasing original indices of the kept faces.
        faces: (F', 3) int64 kept faces re-indexed into the kept vertices.
        n_vertices: N of the meshes this selection applies to.
        n_faces: F of the meshes this selection applies to.
    """

    vertex_index: np.ndarray
    face_index: np.ndarray
    faces: np.ndarray
    n_vertices: int
    n_faces: int

    @classmethod
    def from_face_mask(cls, faces: np.ndarray, keep_faces: np.ndarray, n_vertices: int,
                       keep_vertices: np.ndarray | None = None) -> VertexSelection:
        """Keep the faces where ``keep_faces`` is True and the vertices they use.

        Args:
            faces: (F, 3) integer vertex indices.
            keep_faces: (F,) bool.
            n_vertices: N.
            keep_vertices: (N,) bool vertices to keep even when no kept face uses them (point
                clouds); None keeps exactly the used ones.
        """
        sizes = check_shape(faces, "F 3", name="selection faces")
        check_shape(keep_faces, "F", name="selection keep_faces", bound=sizes)
        faces = check_faces(faces, n_vertices, "VertexSelection")
        face_index = np.flatnonzero(keep_faces).astype(np.int64)
        used = np.zeros(n_vertices, dtype=bool)
        if keep_vertices is not None:
            check_shape(keep_vertices, str(n_vertices), name="selection keep_vertices")
            used |= np.asarray(keep_vertices, dtype=bool)
        used[faces[face_index].reshape(-1)] = True
        vertex_index = np.flatnonzero(used).astype(np.int64)
        new_id = np.full(n_vertices, -1, dtype=np.int64)
        new_id[vertex_index] = np.arange(vertex_index.size, dtype=np.int64)
        new_faces = new_id[faces[face_index]].reshape(-1, 3)
        for array in (vertex_index, face_index, new_faces):
            array.setflags(write=False)
        return cls(vertex_index, face_index, new_faces, int(n_vertices), int(sizes["F"]))

    @property
    def n_kept_vertices(self) -> int:
        return int(self.vertex_index.size)

    @property
    def n_kept_faces(self) -> int:
        return int(self.face_index.size)

    def remap(self, indices: np.ndarray | list[int] | int) -> np.ndarray:
        """Map old vertex indices (e.g. landmark vertex ids) to new ones; -1 where the vertex was removed.

        Args:
            indices: integer array of any shape with values in [0, N).

        Returns:
            int64 array of the same shape.
        """
        idx = np.asarray(indices)
        if not np.issubdtype(idx.dtype, np.integer) or (idx.size and (idx.min() < 0 or idx.max() >= self.n_vertices)):
            raise GeometryError(f"VertexSelection.remap: expected integer vertex indices in [0, {self.n_vertices}), found {indices!r}.")
        new_id = np.full(self.n_vertices, -1, dtype=np.int64)
        new_id[self.vertex_index] = np.arange(self.vertex_index.size, dtype=np.int64)
        return new_id[idx]

    def apply(self, mesh: M) -> M:
        """The kept part of a :class:`Mesh` or of every frame of a :class:`MeshSeq` (same topology as the one selected on).

        Raises:
            GeometryError: ``mesh`` is neither, or its vertex/face counts differ from (N, F).
        """
        if isinstance(mesh, MeshSeq):
            n = mesh.vertices.shape[1]
        elif isinstance(mesh, Mesh):
            n = mesh.vertices.shape[0]
        else:
            raise GeometryError(f"VertexSelection.apply: expected a Mesh or MeshSeq, found {type(mesh).__name__}.")
        if n != self.n_vertices or mesh.faces.shape[0] != self.n_faces:
            raise GeometryError(f"VertexSelection.apply: the selection was made on a mesh with {self.n_vertices} vertices and "
                                f"{self.n_faces} faces, found {n} and {mesh.faces.shape[0]}. Fix: apply it to frames of the same topology.")
        idx = self.vertex_index
        uvs = None if mesh.uvs is None else mesh.uvs[idx]
        colors = None if mesh.colors is None else mesh.colors[idx]
        vertices = mesh.vertices[:, idx] if isinstance(mesh, MeshSeq) else mesh.vertices[idx]
        return replace(mesh, vertices=vertices, faces=self.faces.copy(), uvs=uvs, colors=colors)
