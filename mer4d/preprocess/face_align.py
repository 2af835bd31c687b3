"""Similarity alignment of a 2D face clip to a canonical template (``algorithms.md`` §13).

One 4-DOF similarity (scale, rotation, translation) maps stable onset landmarks (eye corners, eye
centres, nose bridge and tip; never brows or mouth, which move in micro-expressions) onto a
fixed template in a ``size`` x ``size`` crop; the same transform then warps every frame.

Coordinates are OpenCV pixels: ``(x, y)`` = (column, row), integers at pixel centres, y down. In a
frontal view the subject's left (``*_left`` names, +X in the mesh frame) is on the IMAGE right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mer4d.core.errors import DataError, ShapeError
from mer4d.core.shapes import check_shape

# Template in fractions of the crop side. Eye centres 0.34 apart (a 62 mm inter-pupillary distance
# makes the crop ~180 mm wide: brows to chin of an adult face fit); corners and nose from average
# adult proportions (inner canthi ~33 mm apart, outer ~91 mm, nose tip ~38 mm below the eye line).
# Each eye's centre is the midpoint of its corners, so sources giving corners (dataset, MediaPipe)
# and sources giving centres (Haar) land the face at the same place.
_EYE_Y = 0.33
_TEMPLATE_FRACTIONS: dict[str, tuple[float, float]] = {
    "eye_inner_left": (0.59, _EYE_Y), "eye_inner_right": (0.41, _EYE_Y),
    "eye_outer_left": (0.75, _EYE_Y), "eye_outer_right": (0.25, _EYE_Y),
    "eye_centre_left": (0.67, _EYE_Y), "eye_centre_right": (0.33, _EYE_Y),
    "nose_bridge": (0.50, 0.31), "nose_tip": (0.50, 0.54),
}
STABLE_LANDMARKS: tuple[str, ...] = tuple(_TEMPLATE_FRACTIONS)
"""The landmark names alignment uses, in template order."""


def template(size: int) -> dict[str, np.ndarray]:
    """Canonical (x, y) pixel position of every :data:`STABLE_LANDMARKS` name in a ``size`` px crop.

    Eyes are level and the face is symmetric about the vertical centre line ``x = (size - 1) / 2``.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise DataError(f"face template: size must be an integer number of pixels >= 2, got {size!r}")
    # fraction f of the side -> pixel f * size - 0.5, so the centre line is (size - 1) / 2
    return {name: np.array([fx * size - 0.5, fy * size - 0.5]) for name, (fx, fy) in _TEMPLATE_FRACTIONS.items()}


@dataclass(frozen=True)
class Similarity:
    """``p' = scale * R(angle) p + (tx, ty)`` on (x, y) pixel coordinates.

    ``angle_deg`` turns +x towards +y, which is clockwise on screen (image y points down); this is
    the convention of ``cv2.warpAffine`` matrices and ``skimage.transform.SimilarityTransform``.
    """

    scale: float
    angle_deg: float
    tx: float
    ty: float

    @property
    def matrix(self) -> np.ndarray:
        """(2, 3) float64 forward matrix, as ``cv2.warpAffine`` takes it."""
        a = math.radians(self.angle_deg)
        c, s = self.scale * math.cos(a), self.scale * math.sin(a)
        return np.array([[c, -s, self.tx], [s, c, self.ty]], dtype=np.float64)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) points -> (N, 2) float64 transformed points."""
        check_shape(points, "N 2", name="points")
        m = self.matrix
        return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def _points(x: np.ndarray, name: str) -> np.ndarray:
    if getattr(x, "ndim", None) != 2 or x.shape[1] != 2:
        raise ShapeError(
            f"estimate_similarity: {name} must be an (N, 2) array of (x, y) points, got shape {getattr(x, 'shape', None)}. "
            "Fix: stack the points as rows.", "N 2", getattr(x, "shape", None))
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise DataError(f"estimate_similarity: {name} holds NaN or infinite coordinates: {x.tolist()}; drop the undetected points first")
    return x


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> Similarity:
    """Least-squares similarity taking ``src`` points onto ``dst`` points (Umeyama 1991, 2-D).

    Args:
        src: (N, 2) points, N >= 2, not all equal.
        dst: (N, 2) corresponding points, not all equal.

    Raises:
        ShapeError: not (N, 2) arrays of the same N.
        DataError: fewer than 2 points, non-finite values, or degenerate points (all equal).
    """
    src, dst = np.asarray(src), np.asarray(dst)
    src, dst = _points(src, "src"), _points(dst, "dst")
    if src.shape != dst.shape:
        raise ShapeError(f"estimate_similarity: src and dst must hold the same points, got shapes {src.shape} and {dst.shape}",
                         "N 2", tuple(dst.shape))
    n = len(src)
    if n < 2:
        raise DataError(f"estimate_similarity: a similarity has 4 unknowns and needs at least 2 point pairs, got {n}")
    mu_src, mu_dst = src.mean(0), dst.mean(0)
    a, b = src - mu_src, dst - mu_dst
    var_src = (a**2).sum() / n
    tiny = (1e-9 * max(np.abs(src).max(), np.abs(dst).max(), 1.0)) ** 2  # relative to the coordinates' magnitude
    for name, points, centred in (("src", src, a), ("dst", dst, b)):
        if (centred**2).sum() / n <= tiny:
            raise DataError(f"estimate_similarity: the {name} points all coincide ({points.tolist()}), so scale and rotation are "
                            "undefined. Fix: use at least 2 distinct landmarks.")
    # Umeyama (1991): Sigma = b^T a / n = U D V^T; S flips the last axis when U V^T would be a
    # reflection; R = U S V^T, s = tr(D S) / var_src, t = mu_dst - s R mu_src.
    u, d, vt = np.linalg.svd(b.T @ a / n)
    flip = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rotation = u @ flip @ vt
    scale = float(np.trace(np.diag(d) @ flip) / var_src)
    if scale <= 1e-12:
        raise DataError("estimate_similarity: the point sets share no rotational structure (zero cross-covariance); "
                        f"src {src.tolist()}, dst {dst.tolist()}. Fix: check that the points correspond one to one.")
    t = mu_dst - scale * rotation @ mu_src
    angle = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return Similarity(scale=scale, angle_deg=angle, tx=float(t[0]), ty=float(t[1]))


def estimate_to_template(points: Mapping[str, tuple[float, float] | np.ndarray], size: int) -> Similarity:
    """The similarity taking named image points onto :func:`template` (names both sides have)."""
    canon = template(size)
    shared = [name for name in STABLE_LANDMARKS if name in points]
    if len(shared) < 2:
        raise DataError(
            f"face alignment needs at least 2 of the stable landmarks {list(STABLE_LANDMARKS)}, got {sorted(points)} "
            f"({len(shared)} usable). Fix: provide eye corners or centres and the nose (brows and mouth are never used).")
    src = np.array([np.asarray(points[name], dtype=np.float64).reshape(2) for name in shared])
    dst = np.array([canon[name] for name in shared])
    return estimate_similarity(src, dst)


def warp_clip(frames: np.ndarray, similarity: Similarity, size: int) -> np.ndarray:
    """Warp every (H, W) frame of ``frames`` (T, H, W) by ``similarity`` into (T, size, size), same dtype."""
    import cv2

    check_shape(frames, "T H W", name="frames")
    m = similarity.matrix
    out = np.empty((frames.shape[0], size, size), dtype=frames.dtype)
    for t in range(frames.shape[0]):
        # BORDER_REPLICATE: a face near the frame edge gets smeared edge pixels, not a black wedge
        # whose hard border a network could learn from.
        out[t] = cv2.warpAffine(frames[t], m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def align_clip(frames: np.ndarray, onset_points: Mapping[str, tuple[float, float] | np.ndarray], size: int) -> tuple[np.ndarray, Similarity]:
    """Align a clip to the template with ONE similarity estimated on its onset frame.

    Per-frame re-alignment would inject landmark jitter (a pixel or more from any detector) that
    is larger than micro-expression motion, and would partly cancel that motion where landmarks sit
    on moving skin; one onset transform keeps the clip's own motion intact.

    Args:
        frames: (T, H, W) clip (uint8 or float).
        onset_points: landmark name -> (x, y) pixel position on the onset frame; the names shared
            with :data:`STABLE_LANDMARKS` (at least 2) are used, others ignored.
        size: side of the square output crop in pixels.

    Returns:
        aligned (T, size, size) clip of ``frames``' dtype, and the image -> crop similarity.

    Raises:
        ShapeError: ``frames`` is not (T, H, W).
        DataError: fewer than 2 usable landmarks, or degenerate ones.
    """
    check_shape(frames, "T H W", name="frames")
    similarity = estimate_to_template(onset_points, size)
    return warp_clip(frames, similarity, size), similarity
