"""Rigid (optionally scaled) transforms and their least-squares fit from point pairs (Kabsch / Umeyama).

A :class:`RigidTransform` maps a point ``x`` (mm) to ``scale * R @ x + t``. Fitting, composing and
inverting run in float64; applying one keeps a floating input's dtype (float32 meshes stay float32).

Example:
    >>> import numpy as np
    >>> src = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> moved = RigidTransform.from_euler_deg((0, 90, 0), (1, 2, 3)).apply(src)
    >>> fit = fit_rigid(src, moved)
    >>> bool(np.allclose(fit.apply(src), moved)), round(fit.angle_deg, 6)
    (True, 90.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import ShapeError
from mer4d.core.shapes import check_shape
from mer4d.geometry.errors import GeometryError, check_number

M = TypeVar("M", Mesh, MeshSeq)


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """``x -> scale * rotation @ x + translation`` (a similarity when ``scale != 1``).

    Attributes:
        rotation: (3, 3) float64 proper rotation (orthonormal, determinant +1).
        translation: (3,) float64, mm.
        scale: > 0; 1 for a rigid motion.
    """

    rotation: np.ndarray
    translation: np.ndarray
    scale: float = 1.0

    def __post_init__(self) -> None:
        r = np.array(self.rotation, dtype=np.float64)
        t = np.array(self.translation, dtype=np.float64)
        check_shape(r, "3 3", name="RigidTransform rotation")
        check_shape(t, "3", name="RigidTransform translation")
        if not (np.isfinite(r).all() and np.isfinite(t).all()):
            raise GeometryError("RigidTransform: rotation and translation must be finite.")
        err, det = float(np.abs(r.T @ r - np.eye(3)).max()), float(np.linalg.det(r))
        if err > 1e-6 or det < 0:
            raise GeometryError(f"RigidTransform: rotation must be orthonormal with determinant +1, found det {det:.6g} and "
                                f"|R^T R - I| up to {err:.3g}. Fix: build it with fit_rigid or from_euler_deg; a reflection is not a rigid motion.")
        scale = check_number(self.scale, "RigidTransform: scale", low=0.0, low_open=True)
        r.setflags(write=False)
        t.setflags(write=False)
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation", t)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, *, orthonormalize: bool = False) -> RigidTransform:
        """From a (4, 4) homogeneous matrix ``[[s R, t], [0, 1]]``; ``orthonormalize`` snaps a nearly-rotation block to the closest rotation."""
        m = np.asarray(matrix, dtype=np.float64)
        check_shape(m, "4 4", name="RigidTransform.from_matrix matrix")
        block = m[:3, :3]
        scale = float(np.cbrt(np.linalg.det(block)))
        if not scale > 0:
            raise GeometryError(f"RigidTransform.from_matrix: the 3x3 block has determinant {np.linalg.det(block):.6g}; expected > 0 (no reflection).")
        r = block / scale
        if orthonormalize:
            u, _, vt = np.linalg.svd(r)
            r = u @ vt
        return cls(r, m[:3, 3], scale)

    @classmethod
    def from_euler_deg(cls, angles_deg: Any, translation: Any = (0.0, 0.0, 0.0), scale: float = 1.0) -> RigidTransform:
        """Rotation ``Rz(roll) @ Ry(yaw) @ Rx(pitch)`` from (pitch, yaw, roll) degrees about +X, +Y, +Z, then ``translation`` mm."""
        pitch, yaw, roll = np.radians(np.asarray(angles_deg, dtype=np.float64).reshape(3))
        cx, sx, cy, sy, cz, sz = math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw), math.cos(roll), math.sin(roll)
        rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        return cls(rz @ ry @ rx, np.asarray(translation, dtype=np.float64), scale)

    @property
    def matrix(self) -> np.ndarray:
        """(4, 4) float64 homogeneous matrix."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m

    @property
    def angle_deg(self) -> float:
        """Rotation angle about its axis, degrees in [0, 180]."""
        c = (np.trace(self.rotation) - 1.0) / 2.0
        return math.degrees(math.acos(min(1.0, max(-1.0, c))))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform (..., 3) points; float16/32/64 inputs keep their dtype, others give float64."""
        p = np.asarray(points)
        check_shape(p, "... 3", name="RigidTransform.apply points")
        out = np.matmul(p.astype(np.float64, copy=False), (self.scale * self.rotation).T) + self.translation
        return out.astype(p.dtype, copy=False) if np.issubdtype(p.dtype, np.floating) else out

    def inverse(self) -> RigidTransform:
        """The transform undoing this one: ``x = R^T (y - t) / s``."""
        r = self.rotation.T
        return RigidTransform(r, -(r @ self.translation) / self.scale, 1.0 / self.scale)

    def compose(self, first: RigidTransform) -> RigidTransform:
        """``self ∘ first``: apply ``first``, then ``self``."""
        if not isinstance(first, RigidTransform):
            raise GeometryError(f"RigidTransform.compose: expected a RigidTransform, found {type(first).__name__}.")
        return RigidTransform(self.rotation @ first.rotation, self.scale * (self.rotation @ first.translation) + self.translation,
                              self.scale * first.scale)

    def __matmul__(self, other: RigidTransform) -> RigidTransform:
        return self.compose(other)

    def __repr__(self) -> str:
        t = ", ".join(f"{v:.3f}" for v in self.translation)
        return f"RigidTransform(angle={self.angle_deg:.4f} deg, translation=({t}) mm, scale={self.scale:.6g})"


def fit_rigid(source: np.ndarray, target: np.ndarray, *, scale: bool = False, weights: np.ndarray | None = None) -> RigidTransform:
    """Least-squares transform taking ``source`` onto ``target`` (Kabsch; Umeyama with ``scale=True``).

    Minimises ``sum_i w_i |T(source_i) - target_i|^2`` in closed form (SVD of the weighted
    cross-covariance with the reflection correction), in float64.

    Args:
        source: (L, 3) points, L >= 3, not all on one line.
        target: (L, 3) corresponding points.
        scale: also fit a uniform scale (default: rigid, scale 1).
        weights: (L,) non-negative weights, or None for equal weights.

    Returns:
        the :class:`RigidTransform`.

    Raises:
        ShapeError: shapes differ or are not (L, 3).
        GeometryError: fewer than 3 points, non-finite values, or (nearly) collinear points.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    sizes = check_shape(src, "L 3", name="fit_rigid source")
    check_shape(dst, "L 3", name="fit_rigid target", bound=sizes)
    if sizes["L"] < 3:
        raise GeometryError(f"fit_rigid: need at least 3 point pairs, found {sizes['L']}. Fix: use more landmarks.")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise GeometryError("fit_rigid: points must be finite; drop landmarks with NaN first.")
    if weights is None:
        w = np.full(sizes["L"], 1.0 / sizes["L"])
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (sizes["L"],):
            raise ShapeError(f"fit_rigid weights: expected shape ({sizes['L']},), got {w.shape}", "L", w.shape)
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise GeometryError("fit_rigid: weights must be finite, >= 0 and not all 0.")
        w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    x, y = src - mu_s, dst - mu_d
    for name, pts in (("source", x), ("target", y)):
        sv = np.linalg.svd(pts * np.sqrt(w)[:, None], compute_uv=False)
        if sv[1] <= 1e-9 * max(sv[0], 1e-300):
            raise GeometryError(f"fit_rigid: the {name} points are (nearly) collinear or coincident, so the rotation about "
                                "their line is undetermined. Fix: add landmarks off that line (e.g. eye corners plus nose tip).")
    cov = (y * w[:, None]).T @ x  # (3, 3) cross-covariance
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0
    r = (u * d) @ vt
    c = float((s * d).sum() / (w @ (x * x).sum(axis=1))) if scale else 1.0
    return RigidTransform(r, mu_d - c * (r @ mu_s), c)


def transform_mesh(mesh: M, transform: RigidTransform) -> M:
    """Apply one transform to a :class:`Mesh`, or to every frame (vertices and 3D landmarks) of a :class:`MeshSeq`.

    Everything else (faces, uvs, texture, colours, names, frame numbers, fps) is carried unchanged;
    float32 vertices stay float32.
    """
    if not isinstance(transform, RigidTransform):
        raise GeometryError(f"transform_mesh: expected a RigidTransform, found {type(transform).__name__}.")
    if isinstance(mesh, MeshSeq):
        landmarks = None if mesh.landmarks is None else transform.apply(mesh.landmarks)
        return replace(mesh, vertices=transform.apply(mesh.vertices), landmarks=landmarks)
    if isinstance(mesh, Mesh):
        return replace(mesh, vertices=transform.apply(mesh.vertices))
    raise GeometryError(f"transform_mesh: expected a Mesh or MeshSeq, found {type(mesh).__name__}.")
