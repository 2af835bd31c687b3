"""Which planted AUs a rendered view can see at all: the input of the per-view ceilings.

An AU moves the face's vertices by ``amplitude x au_field`` at the apex. A view sees that
movement as an in-image shift (the texture and E-DPI domains) and as a change of depth along its
optical axis (the DPI domain), and only on the part of the face turned towards it. An AU counts
as *visible* in a view when, on the vertices facing that view, either

- its largest in-image shift reaches ``min_px`` pixels of the final ``size x size`` crop and
  exceeds ``snr x`` the per-vertex sensor noise, or
- its largest depth change exceeds ``snr x`` the sensor noise.

Below both, rank pooling over the clip cannot tell the AU from noise in that view, so no model
fed that view can use it. The thresholds are a convention, not a measurement of any model: they
set an upper bound (the *view ceiling*), which a method should stay below.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np

from mer4d.synth.animation import Distractors
from mer4d.synth.aus import au_field
from mer4d.synth.face import FaceModel

MIN_PX = 0.25  # a quarter pixel of in-image shift: what sub-pixel texture change still carries
SNR = 3.0  # times the per-vertex sensor noise
FACING_COS = 0.1  # a vertex faces the view when its normal is within ~84 degrees of the eye direction
CROP_MARGIN = 1.04  # each view is cut to its face box plus this margin (preprocess.mesh_views._face_box)


@functools.lru_cache(maxsize=64)  # a subject's clips share one face (FaceModel hashes by identity)
def vertex_normals(face: FaceModel) -> np.ndarray:
    """(N, 3) unit outward normals of the neutral mesh (area-weighted face normals)."""
    v, f = face.mesh.vertices.astype(np.float64), face.mesh.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, f[:, k], n)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    out.setflags(write=False)  # shared by every caller through the cache
    return out


def view_axes(name: str, yaw_deg: float) -> np.ndarray:
    """(3, 3) rows right, up, forward of the orthographic view ``name`` (as :class:`mer4d.render.Rig` builds it)."""
    from mer4d.render import Rig
    from mer4d.render.rig import camera_frame

    _, rotation = camera_frame(Rig.from_names((name,), yaw_deg=yaw_deg, size=8).views[0])
    return rotation


def visible_aus(face: FaceModel, planted: Mapping[str, float], views: Sequence[str], yaw_deg: float, size: int,
                noise_mm: float | None = None, min_px: float = MIN_PX, snr: float = SNR) -> dict[str, tuple[str, ...]]:
    """``{view: AU codes of planted that the view sees}`` (see the module docstring).

    Args:
        face: the subject's neutral face.
        planted: AU code -> apex amplitude in mm (the simulator's ``planted_mm`` column).
        views: view names (``left``, ``front``, ``right``).
        yaw_deg: the side views' yaw.
        size: pixels a side of each view's final crop.
        noise_mm: per-vertex sensor noise; None takes the simulator's default.
    """
    noise = Distractors().vertex_noise_mm if noise_mm is None else float(noise_mm)
    normals = vertex_normals(face)
    front = face.front > 0
    out: dict[str, tuple[str, ...]] = {}
    for name in views:
        axes = view_axes(name, yaw_deg)
        facing = (normals @ -axes[2] > FACING_COS) & front
        projected = face.mesh.vertices[facing].astype(np.float64) @ axes[:2].T
        mm_per_px = CROP_MARGIN * float(np.ptp(projected, axis=0).max()) / size
        seen = []
        for code, amplitude in planted.items():
            moved = amplitude * au_field(face, code)[facing].astype(np.float64) @ axes.T
            shift, depth = np.linalg.norm(moved[:, :2], axis=1).max(initial=0.0), np.abs(moved[:, 2]).max(initial=0.0)
            if (shift >= max(min_px * mm_per_px, snr * noise)) or depth > snr * noise:
                seen.append(code)
        out[name] = tuple(seen)
    return out
