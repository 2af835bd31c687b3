"""Frozen containers handed between stages (arrays are numpy; shapes use the core glossary).

Coordinate convention for every mesh in mer4d (millimetres, right-handed):
+X towards the subject's **left** (it appears on the right of a frontal image), +Y up, +Z out of
the face towards a frontal camera. The head centre is near the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer4d.core.errors import ShapeError
from mer4d.core.shapes import check_shape


@dataclass(frozen=True)
class Mesh:
    """One triangle mesh.

    Attributes:
        vertices: (N, 3) float32, millimetres.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside.
        uvs: (N, 2) float32 per-vertex texture coordinates in [0, 1] (v = 0 at the image bottom), or None.
        texture: (Ht, Wt, 3) uint8 RGB texture image for ``uvs``, or None.
        colors: (N, 3) uint8 RGB per-vertex colours, or None (used when there is no texture).
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    texture: np.ndarray | None = None
    colors: np.ndarray | None = None

    def __post_init__(self) -> None:
        sizes = check_shape(self.vertices, "N 3", name="mesh vertices")
        check_shape(self.faces, "F 3", name="mesh faces")
        if self.uvs is not None:
            check_shape(self.uvs, "N 2", name="mesh uvs", bound={"N": sizes["N"]})
            if self.texture is None:
                raise ShapeError("mesh: uvs given without a texture image; pass texture=(H, W, 3) uint8 or drop uvs")
        if self.texture is not None:
            check_shape(self.texture, "H W 3", name="mesh texture")
        if self.colors is not None:
            check_shape(self.colors, "N 3", name="mesh colors", bound={"N": sizes["N"]})


@dataclass(frozen=True)
class MeshSeq:
    """A mesh sequence with fixed topology (one mesh per frame).

    Attributes:
        vertices: (T, N, 3) float32, millimetres.
        faces: (F, 3) int64, shared by all frames.
        fps: frames per second.
        uvs / texture / colors: as in :class:`Mesh`, shared by all frames.
        landmarks: (T, L, 3) float32 named 3D landmarks per frame, or None.
        landmark_names: L names (e.g. "eye_outer_left"), empty when ``landmarks`` is None.
        frame_numbers: (T,) int64 absolute frame numbers as the dataset writes them.
    """

    vertices: np.ndarray
    faces: np.ndarray
    fps: float
    uvs: np.ndarray | None = None
    texture: np.ndarray | None = None
    colors: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    landmark_names: tuple[str, ...] = ()
    frame_numbers: np.ndarray | None = None

    def __post_init__(self) -> None:
        sizes = check_shape(self.vertices, "T N 3", name="mesh sequence vertices")
        Mesh(self.vertices[0], self.faces, self.uvs, self.texture, self.colors)  # validates the shared parts
        if self.landmarks is not None:
            check_shape(self.landmarks, f"{sizes['T']} L 3", name="mesh sequence landmarks")
            if len(self.landmark_names) != self.landmarks.shape[1]:
                raise ShapeError(f"mesh sequence: {self.landmarks.shape[1]} landmarks but {len(self.landmark_names)} landmark names")
        if self.frame_numbers is not None:
            check_shape(self.frame_numbers, f"{sizes['T']}", name="mesh sequence frame_numbers")

    def __len__(self) -> int:
        return int(self.vertices.shape[0])

    def frame(self, t: int) -> Mesh:
        """Frame ``t`` as a :class:`Mesh`."""
        return Mesh(self.vertices[t], self.faces, self.uvs, self.texture, self.colors)
