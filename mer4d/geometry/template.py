"""The canonical frontal face frame and its named 3D landmark template.

Canonical frame (the mer4d mesh convention of :mod:`mer4d.core.containers`, millimetres): +X
towards the subject's left, +Y up, +Z out of the face towards a frontal camera; the face is
left/right symmetric about the plane X = 0, looks straight along +Z with the eye corners level, and
the head centre sits near the origin (the nose tip at about (0, -17.5, 118.4)), which is where the
renderer's default views (:mod:`mer4d.render.rig`) look. The positions are those of the simulator's
average adult (``mer4d.synth.identity.Identity()`` defaults, about 140 mm wide, 62 mm
interpupillary distance) mirrored to exact symmetry and rounded to 0.1 mm; they are written out
here so that this package does not depend on the simulator.

The same average face, as a surface, is the ICP target for clips without landmarks
(:func:`canonical_face_mesh`). It ships as package data (``assets/canonical_face.npz``) made by
``tools/make_canonical_face.py`` from the simulator, so that real data never runs simulator code;
``tests/geometry/test_canonical_face.py`` fails when the simulator's face drifts from the file.

Landmark names are :data:`LANDMARK_NAMES`; "left" is the subject's left (+X).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType

import numpy as np

from mer4d.core.containers import Mesh
from mer4d.core.errors import DataError, UnknownNameError
from mer4d.core.registry import did_you_mean

LANDMARK_NAMES: tuple[str, ...] = (
    "brow_inner_left", "brow_inner_right", "brow_mid_left", "brow_mid_right", "brow_outer_left", "brow_outer_right",
    "eye_inner_left", "eye_inner_right", "eye_outer_left", "eye_outer_right",
    "upper_lid_left", "upper_lid_right", "lower_lid_left", "lower_lid_right",
    "nose_bridge", "nose_tip", "nostril_left", "nostril_right", "cheek_left", "cheek_right",
    "mouth_corner_left", "mouth_corner_right", "upper_lip", "lower_lip", "chin",
)
"""The named facial landmarks mer4d knows, in a fixed order (the simulator's
:meth:`~mer4d.synth.face.FaceModel.landmark_positions` order, the per-clip landmark files'
names); "left" is the subject's left (+X)."""

CANONICAL_FACE_FILE = "assets/canonical_face.npz"
"""The template surface, relative to this package: ``vertices`` (N, 3) float32 mm and ``faces``
(F, 3) int32, counter-clockwise seen from outside, in the canonical frame."""

_LEFT: dict[str, tuple[float, float, float]] = {
    # name (subject's left side, +X): position mm; the right side is the mirror image (-X).
    "brow_inner_left": (16.8, 43.8, 92.4),
    "brow_mid_left": (33.0, 47.8, 85.5),
    "brow_outer_left": (52.0, 43.6, 70.8),
    "eye_inner_left": (15.7, 22.2, 90.9),
    "eye_outer_left": (44.6, 23.7, 78.7),
    "upper_lid_left": (30.6, 28.5, 86.6),
    "lower_lid_left": (30.9, 17.9, 89.6),
    "nostril_left": (6.7, -21.8, 105.3),
    "cheek_left": (37.1, -0.8, 92.3),
    "mouth_corner_left": (25.5, -41.1, 93.0),
}
_MIDLINE: dict[str, tuple[float, float, float]] = {
    "nose_bridge": (0.0, 24.3, 97.6),
    "nose_tip": (0.0, -17.5, 118.4),
    "upper_lip": (0.0, -38.9, 104.9),
    "lower_lip": (0.0, -47.6, 102.6),
    "chin": (0.0, -73.0, 95.3),
}


def _build() -> dict[str, tuple[float, float, float]]:
    out: dict[str, tuple[float, float, float]] = {}
    for name, (x, y, z) in _LEFT.items():
        out[name] = (x, y, z)
        out[name.replace("_left", "_right")] = (-x, y, z)
    out.update(_MIDLINE)
    return out


CANONICAL_LANDMARKS: Mapping[str, tuple[float, float, float]] = MappingProxyType(_build())
"""Landmark name -> canonical (x, y, z) in mm (see the module docstring for the frame)."""

ALIGNMENT_LANDMARKS: tuple[str, ...] = (
    "eye_inner_left", "eye_inner_right", "eye_outer_left", "eye_outer_right",
    "nose_bridge", "nose_tip", "mouth_corner_left", "mouth_corner_right", "chin",
)
"""Default landmarks fitted by :func:`mer4d.geometry.align.align_to_landmarks`. Eye corners and the
nose do not move in expressions; the mouth corners and chin do, but the fit is made on the onset,
where the face is neutral, and they give the long vertical lever arm that pins pitch: over 20
simulated identities the canonical pose came out within 2.2 degrees of the simulator's true
frontal pose (mean 1.0) with them, against up to 7 degrees from eyes and nose alone. Brows and lids
are left out: they move with AU1/2/4 and blinks, which can already be under way at the onset."""


def canonical_landmarks(names: Iterable[str] = ALIGNMENT_LANDMARKS) -> np.ndarray:
    """Canonical positions of ``names``.

    Args:
        names: landmark names, keys of :data:`CANONICAL_LANDMARKS`.

    Returns:
        (L, 3) float64, mm, in the order given.

    Raises:
        UnknownNameError: a name has no canonical position (with a close-name suggestion).
    """
    names = tuple(names)
    for name in names:
        if name not in CANONICAL_LANDMARKS:
            hint = did_you_mean(str(name), tuple(CANONICAL_LANDMARKS))
            raise UnknownNameError(f"no canonical position for landmark {name!r}{hint} Known: {', '.join(CANONICAL_LANDMARKS)}. "
                                   "Fix: pick known names, or pass your own template mapping name -> (x, y, z).")
    return np.array([CANONICAL_LANDMARKS[n] for n in names], dtype=np.float64).reshape(-1, 3)


@functools.lru_cache(maxsize=1)
def canonical_face_mesh() -> Mesh:
    """The average face surface in the canonical frame: the ICP target for clips without landmarks.

    Returns:
        a :class:`Mesh` (vertices float32 mm, faces int64), read-only arrays, no texture; the same
        object on every call.

    Raises:
        DataError: the packaged file is missing or damaged (a broken install).
    """
    path = resources.files("mer4d.geometry").joinpath(CANONICAL_FACE_FILE)
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            vertices, faces = data["vertices"], data["faces"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"the canonical face template {path} cannot be read ({type(exc).__name__}: {exc}); expected an .npz with "
                        "'vertices' (N, 3) float32 and 'faces' (F, 3) int32. Reinstall mer4d, or regenerate it with "
                        "python tools/make_canonical_face.py.") from exc
    mesh = Mesh(np.asarray(vertices, dtype=np.float32), np.asarray(faces, dtype=np.int64))
    for array in (mesh.vertices, mesh.faces):
        array.flags.writeable = False  # shared by every caller through the cache
    return mesh
