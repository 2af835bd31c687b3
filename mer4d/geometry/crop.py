"""Facial crop: keep the vertices inside an ellipsoid (or box) around the nose tip of an aligned face.

Run it after :mod:`mer4d.geometry.align`: the region is axis-aligned in the canonical frame (+X the
subject's left, +Y up, +Z towards the camera). Its centre is ``anchor + offset_mm``, where the
anchor is, in order of preference: the ``anchor`` argument; the clip's ``"nose_tip"`` landmark on
the onset frame; the most forward (largest Z) vertex, which is the nose tip of a frontal face.

The vertex selection is made once, on the onset frame, and the same vertices and faces are taken
from every frame, so a vertex never enters or leaves the crop as the face moves. A face is kept
when all three of its vertices are inside; vertices no kept face uses are dropped (a mesh without
faces is treated as a point cloud: its inside vertices are kept). Per-vertex ``uvs``/``colors``
follow their vertex; 3D landmarks are positions and stay as they are (see
:mod:`mer4d.geometry.selection`). The crop can leave small disconnected pieces (an ear lobe
inside the region); run :func:`mer4d.geometry.cleanup.clean_mesh_seq` again if that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.shapes import check_shape
from mer4d.geometry.errors import GeometryError, check_mesh, check_number, check_onset, check_seq
from mer4d.geometry.selection import VertexSelection

CROP_SHAPES = ("ellipsoid", "box")


@dataclass(frozen=True)
class FaceCrop:
    """The kept region, in the aligned frame, relative to the anchor (the nose tip).

    Attributes:
        shape: "ellipsoid" (default) or "box".
        radii_mm: semi-axes (ellipsoid) or half-extents (box) along X, Y, Z. Default (75, 95, 75).
        offset_mm: region centre minus the anchor. Default (0, 10, -45).

    The defaults were set on the simulator's adult faces (nose tip about 118 mm in front of the
    head centre; landmarks within 53 mm of the midline, 61 mm below to 71 mm above and 50 mm
    behind the nose tip): the ellipsoid keeps the forehead up to about 100 mm above the nose tip,
    the brows, eyes, cheeks out to about 70 mm from the midline, nose, lips and chin with 10+ mm to
    spare, and drops the ears (about 72 mm out and 100+ mm behind the nose tip), the top of the
    head, the back of the head and the neck more than about 20 mm below the chin.
    """

    shape: Literal["ellipsoid", "box"] = "ellipsoid"
    radii_mm: tuple[float, float, float] = (75.0, 95.0, 75.0)
    offset_mm: tuple[float, float, float] = (0.0, 10.0, -45.0)

    def __post_init__(self) -> None:
        if self.shape not in CROP_SHAPES:
            raise GeometryError(f"FaceCrop.shape: expected one of {CROP_SHAPES}, found {self.shape!r}.")
        for name, low in (("radii_mm", 0.0), ("offset_mm", None)):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 3:
                raise GeometryError(f"FaceCrop.{name}: expected three numbers (x, y, z) in mm, found {value!r}.")
            object.__setattr__(self, name, tuple(check_number(v, f"FaceCrop.{name}", low=low, low_open=low is not None) for v in value))

    def mask(self, vertices: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """(N,) bool: which of the (N, 3) ``vertices`` lie inside the region around ``anchor`` (3,).

        Non-finite vertices are outside.
        """
        check_shape(vertices, "N 3", name="FaceCrop.mask vertices")
        a = _anchor(anchor, "FaceCrop.mask")
        with np.errstate(invalid="ignore"):
            rel = (np.asarray(vertices, dtype=np.float64) - (a + np.array(self.offset_mm))) / np.array(self.radii_mm)
            inside = (rel * rel).sum(axis=1) <= 1.0 if self.shape == "ellipsoid" else (np.abs(rel) <= 1.0).all(axis=1)
        return inside & np.isfinite(rel).all(axis=1)


def _anchor(anchor: object, where: str) -> np.ndarray:
    a = np.asarray(anchor, dtype=np.float64) if isinstance(anchor, (tuple, list, np.ndarray)) else None
    if a is None or a.shape != (3,) or not np.isfinite(a).all():
        raise GeometryError(f"{where}: anchor must be a finite (x, y, z) point in mm, found {anchor!r}.")
    return a


def _forward_vertex(vertices: np.ndarray, faces: np.ndarray, where: str) -> np.ndarray:
    used = np.unique(faces) if faces.shape[0] else np.arange(vertices.shape[0])
    pts = np.asarray(vertices, dtype=np.float64)[used]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.shape[0] == 0:
        raise GeometryError(f"{where}: no finite vertex to anchor the crop on. Fix: clean the mesh first or pass anchor=.")
    return pts[np.argmax(pts[:, 2])]


def _select(vertices: np.ndarray, faces: np.ndarray, anchor: np.ndarray, crop: FaceCrop | None, where: str) -> VertexSelection:
    crop = FaceCrop() if crop is None else crop
    if not isinstance(crop, FaceCrop):
        raise GeometryError(f"{where}: crop must be a FaceCrop, found {type(crop).__name__}.")
    inside = crop.mask(vertices, anchor)
    if faces.shape[0]:
        selection = VertexSelection.from_face_mask(faces, inside[faces].all(axis=1), vertices.shape[0])
    else:
        selection = VertexSelection.from_face_mask(faces, np.zeros(0, dtype=bool), vertices.shape[0], keep_vertices=inside)
    if selection.n_kept_vertices == 0 or (faces.shape[0] and selection.n_kept_faces == 0):
        raise GeometryError(f"{where}: the crop around {np.round(anchor, 1).tolist()} mm keeps nothing. Fix: align the clip to the "
                            "canonical frame first (align_clip), or pass the right anchor / a larger FaceCrop.")
    return selection


def crop_mesh(mesh: Mesh, *, anchor: np.ndarray | None = None, crop: FaceCrop | None = None) -> tuple[Mesh, VertexSelection]:
    """Crop one aligned mesh to the face.

    Args:
        mesh: vertices (N, 3) mm in the canonical frame, faces (F, 3).
        anchor: (3,) nose tip in mm; None uses the most forward (largest Z) vertex.
        crop: region; None means ``FaceCrop()`` (see its defaults).

    Returns:
        ``(cropped mesh, selection)``.
    """
    mesh = check_mesh(mesh, "crop_mesh")
    a = _forward_vertex(mesh.vertices, mesh.faces, "crop_mesh") if anchor is None else _anchor(anchor, "crop_mesh")
    selection = _select(mesh.vertices, mesh.faces, a, crop, "crop_mesh")
    return selection.apply(mesh), selection


def crop_mesh_seq(seq: MeshSeq, *, anchor: np.ndarray | None = None, crop: FaceCrop | None = None,
                  onset_index: int = 0) -> tuple[MeshSeq, VertexSelection]:
    """Crop an aligned clip to the face: select on the onset frame, take the same vertices from every frame.

    Args:
        seq: vertices (T, N, 3) mm in the canonical frame.
        anchor: (3,) nose tip in mm; None uses the onset's ``"nose_tip"`` landmark when the clip
            names one, else the onset's most forward vertex.
        crop: region; None means ``FaceCrop()``.
        onset_index: position (0-based) of the reference frame.

    Returns:
        ``(cropped clip (T, N', 3), selection)``.
    """
    seq = check_seq(seq, "crop_mesh_seq")
    onset = check_onset(seq, onset_index, "crop_mesh_seq")
    vertices = seq.vertices[onset]
    if anchor is not None:
        a = _anchor(anchor, "crop_mesh_seq")
    elif seq.landmarks is not None and "nose_tip" in seq.landmark_names and np.isfinite(
            seq.landmarks[onset, seq.landmark_names.index("nose_tip")]).all():
        a = seq.landmarks[onset, seq.landmark_names.index("nose_tip")].astype(np.float64)
    else:
        a = _forward_vertex(vertices, seq.faces, "crop_mesh_seq")
    selection = _select(vertices, seq.faces, a, crop, "crop_mesh_seq")
    return selection.apply(seq), selection
