"""A procedural ear-to-ear face: neutral mesh, UV texture and named 3D landmarks for one identity.

The surface is a (pitch, yaw) grid over a superellipsoid head (:mod:`mer4d.synth.face_layout`)
pushed out along +Z by the facial relief (:mod:`mer4d.synth.face_relief`). Grid rows run bottom to
top (pitch), columns from the subject's right ear to the left ear (yaw), so vertex ``k`` is
``row * cols + col`` and the texture's ``u`` follows yaw and ``v`` pitch. Yaw columns are denser
on the face front than at the ears, where nothing moves.

Example:
    >>> from mer4d.synth.identity import Identity
    >>> face = make_face(Identity())
    >>> face.mesh.vertices.shape[1], face.landmark_positions().shape
    (3, (25, 3))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from mer4d.core.containers import Mesh
from mer4d.core.errors import ShapeError, UnknownNameError
from mer4d.core.registry import did_you_mean
from mer4d.geometry.template import LANDMARK_NAMES  # noqa: F401  (re-exported: the landmark names live with the canonical frame)
from mer4d.synth.face_layout import PITCH_RANGE_DEG, YAW_RANGE_DEG, FaceLayout, layout_for
from mer4d.synth.face_relief import relief
from mer4d.synth.face_texture import paint_texture
from mer4d.synth.identity import Identity

RESOLUTIONS: dict[str, tuple[int, int, tuple[int, int]]] = {
    "quick": (97, 107, (384, 512)),
    "full": (211, 237, (768, 1024)),
}
"""Resolution name -> (pitch rows, yaw columns, texture (height, width)): about 10k and 50k vertices."""

_YAW_LINEAR = 0.55  # slope of the yaw warp at the midline: front columns are 1/0.55 times denser than uniform


@dataclass(frozen=True, eq=False)
class FaceModel:
    """A neutral face and what is needed to animate it.

    Compared by identity (``eq=False``) so per-face caches (AU fields) can key on the object.

    Attributes:
        identity: the subject parameters it was built from.
        resolution: "quick" or "full".
        layout: feature positions in frontal millimetres.
        mesh: the neutral mesh: vertices (N, 3) float32 mm, faces (F, 3) int64 counter-clockwise seen
            from outside, uvs (N, 2) float32, texture (Ht, Wt, 3) uint8. Arrays are read-only.
        landmarks: landmark name -> vertex index, for every name in :data:`LANDMARK_NAMES`.
        grid_shape: (rows, cols) of the vertex grid.
        front: (N,) float32 in [0, 1], 1 on the face front and 0 around the ears; features and AUs
            act only where it is positive.
    """

    identity: Identity
    resolution: str
    layout: FaceLayout
    mesh: Mesh
    landmarks: Mapping[str, int]
    grid_shape: tuple[int, int]
    front: np.ndarray

    @property
    def vertices(self) -> np.ndarray:
        """(N, 3) float32 neutral vertices."""
        return self.mesh.vertices

    @property
    def landmark_indices(self) -> np.ndarray:
        """(L,) int64 vertex indices in :data:`LANDMARK_NAMES` order."""
        return np.array([self.landmarks[name] for name in LANDMARK_NAMES], dtype=np.int64)

    def landmark(self, name: str) -> np.ndarray:
        """(3,) neutral position of one landmark; an unknown name raises with a suggestion."""
        if name not in self.landmarks:
            hint = did_you_mean(name, LANDMARK_NAMES)
            raise UnknownNameError(f"unknown face landmark {name!r}{hint} Known: {', '.join(LANDMARK_NAMES)}.")
        return self.mesh.vertices[self.landmarks[name]]

    def landmark_positions(self, vertices: np.ndarray | None = None) -> np.ndarray:
        """Landmark positions in :data:`LANDMARK_NAMES` order.

        Args:
            vertices: (..., N, 3) vertices of this face's topology (e.g. (T, N, 3) animated frames);
                None means the neutral mesh.

        Returns:
            (..., L, 3) array of the same dtype.
        """
        if vertices is None:
            vertices = self.mesh.vertices
        n = self.mesh.vertices.shape[0]
        if getattr(vertices, "ndim", 0) < 2 or vertices.shape[-2:] != (n, 3):
            raise ShapeError(
                f"landmark_positions: expected vertices of shape (..., {n}, 3) for this face, found {getattr(vertices, 'shape', None)}. "
                "Fix: pass frames of this face's mesh (same resolution).",
                f"... {n} 3", getattr(vertices, "shape", None),
            )
        return vertices[..., self.landmark_indices, :]


def make_face(identity: Identity, resolution: str = "quick") -> FaceModel:
    """Build the neutral face of ``identity``.

    Args:
        identity: subject parameters (see :func:`mer4d.synth.identity.sample_identity`).
        resolution: "quick" (about 10k vertices, 512x384 texture) or "full" (about 50k vertices,
            1024x768 texture).

    Returns:
        a :class:`FaceModel`; the same identity and resolution give identical arrays.

    Raises:
        UnknownNameError: ``resolution`` is not one of :data:`RESOLUTIONS`.
    """
    if resolution not in RESOLUTIONS:
        hint = did_you_mean(str(resolution), list(RESOLUTIONS))
        raise UnknownNameError(f"unknown face resolution {resolution!r}{hint} Expected one of: {', '.join(RESOLUTIONS)}.")
    rows, cols, tex_shape = RESOLUTIONS[resolution]
    layout = layout_for(identity)
    yaw, pitch = _grid_angles(rows, cols)
    yy, pp = np.meshgrid(yaw, pitch)  # (rows, cols)
    x, y, z0 = layout.base_surface(yy, pp)
    front = layout.front_weight(z0)
    z = z0 + front * relief(layout, x, y)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3).astype(np.float32)
    uvs = _grid_uvs(yaw, pitch)
    texture = paint_texture(identity, layout, tex_shape)
    front = front.reshape(-1).astype(np.float32)
    for array in (vertices, uvs, texture, front):
        array.setflags(write=False)  # shared by caches and every animated frame: never edit in place
    faces = _grid_faces(rows, cols)
    faces.setflags(write=False)
    mesh = Mesh(vertices=vertices, faces=faces, uvs=uvs, texture=texture)
    landmarks = MappingProxyType(_find_landmarks(layout, vertices, front))
    return FaceModel(identity, resolution, layout, mesh, landmarks, (rows, cols), front)


def _grid_angles(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Yaw (cols,) and pitch (rows,) in radians; yaw is built from one half and mirrored so the grid is exactly symmetric."""
    half = np.linspace(0.0, 1.0, cols // 2 + 1)[1:]
    warped = _YAW_LINEAR * half + (1.0 - _YAW_LINEAR) * half**3  # denser near the midline, same ends
    right = math.radians(YAW_RANGE_DEG[1]) * warped
    yaw = np.concatenate([-right[::-1], [0.0], right])
    pitch = np.radians(np.linspace(PITCH_RANGE_DEG[0], PITCH_RANGE_DEG[1], rows))
    return yaw, pitch


def _grid_uvs(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(rows*cols, 2) float32: u linear in yaw, v linear in pitch (v = 0 at the bottom row)."""
    y0, y1 = (math.radians(v) for v in YAW_RANGE_DEG)
    p0, p1 = (math.radians(v) for v in PITCH_RANGE_DEG)
    u = (yaw - y0) / (y1 - y0)
    v = (pitch - p0) / (p1 - p0)
    uu, vv = np.meshgrid(u, v)
    return np.stack([uu, vv], axis=-1).reshape(-1, 2).astype(np.float32)


def _grid_faces(rows: int, cols: int) -> np.ndarray:
    """(2*(rows-1)*(cols-1), 3) int64 triangles.

    Columns grow towards +X and rows towards +Y, so seen from outside (from +Z on the face front)
    ``(k, k+1, k+cols+1)`` and ``(k, k+cols+1, k+cols)`` turn counter-clockwise: normals point out.
    """
    k = (np.arange(rows - 1)[:, None] * cols + np.arange(cols - 1)[None, :]).reshape(-1)
    first = np.stack([k, k + 1, k + cols + 1], axis=1)
    second = np.stack([k, k + cols + 1, k + cols], axis=1)
    return np.stack([first, second], axis=1).reshape(-1, 3).astype(np.int64)


def landmark_targets(layout: FaceLayout) -> dict[str, tuple[float, float]]:
    """Frontal (x, y) of every landmark but the nose tip (which is found as the most forward point)."""
    out: dict[str, tuple[float, float]] = {}
    for side, name in ((1.0, "left"), (-1.0, "right")):
        for key, t in (("brow_inner", 0.03), ("brow_mid", 0.5), ("brow_outer", 0.97)):
            xs, y = layout.brow_curve(t, side)
            out[f"{key}_{name}"] = (side * float(xs), float(y))
        inner, outer = layout.eye_x - layout.eye_half_width, layout.eye_x + layout.eye_half_width
        out[f"eye_inner_{name}"] = (side * inner, float(layout.eye_axis(np.array(inner), side)))
        out[f"eye_outer_{name}"] = (side * outer, float(layout.eye_axis(np.array(outer), side)))
        upper, lower = layout.lid_margins(np.array(layout.eye_x), side)
        out[f"upper_lid_{name}"] = (side * layout.eye_x, float(upper))
        out[f"lower_lid_{name}"] = (side * layout.eye_x, float(lower))
        out[f"nostril_{name}"] = (side * 6.0, layout.subnasale_y + 1.5)
        out[f"cheek_{name}"] = (side * layout.cheek_x, layout.cheek_y)
        corner = side * layout.mouth_half_width
        out[f"mouth_corner_{name}"] = (corner, float(layout.mouth_line(np.array(corner))))
    upper, lower = layout.red_heights(np.array(0.0))
    line = float(layout.mouth_line(np.array(0.0)))
    out["nose_bridge"] = (0.0, layout.eye_y + 2.0)
    out["upper_lip"] = (0.0, line + 0.5 * float(upper))
    out["lower_lip"] = (0.0, line - 0.5 * float(lower))
    out["chin"] = (0.0, layout.chin_y)
    return out


def _find_landmarks(layout: FaceLayout, vertices: np.ndarray, front: np.ndarray) -> dict[str, int]:
    """Snap each landmark target to the nearest face-front vertex in (x, y)."""
    candidates = np.flatnonzero(front > 0.5)
    xy = vertices[candidates, :2].astype(np.float64)
    targets = landmark_targets(layout)
    names = list(targets)
    pts = np.array([targets[n] for n in names])
    d2 = ((xy[None, :, :] - pts[:, None, :]) ** 2).sum(-1)
    found = {name: int(candidates[i]) for name, i in zip(names, d2.argmin(axis=1), strict=True)}
    near_tip = candidates[(np.abs(xy[:, 0]) < 10.0) & (np.abs(xy[:, 1] - layout.tip_y) < 15.0)]
    found["nose_tip"] = int(near_tip[np.argmax(vertices[near_tip, 2])])
    return {name: found[name] for name in LANDMARK_NAMES}
