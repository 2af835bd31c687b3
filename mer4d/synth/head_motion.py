"""Small, slow rigid head motion: a smoothed random walk of rotation (about the neck) and translation.

Real ME recordings are full of it: subjects are asked to keep still and never quite do, which is
why ME pipelines align faces before looking for sub-millimetre motion.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from mer4d.synth.face_layout import FaceLayout


def neck_pivot(layout: FaceLayout) -> np.ndarray:
    """(3,) float64 centre of head rotation: near the top of the neck, below and behind the face."""
    return np.array([0.0, layout.subnasale_y - 10.0, -0.15 * layout.c])


def head_pose_track(rng: np.random.Generator, n_frames: int, fps: float, max_deg: float, max_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Draw a smooth pose track that starts at the neutral pose.

    Each of the six degrees of freedom (pitch, yaw, roll, x, y, z) is an independent random walk,
    smoothed over about 0.15 s (head motion has no jitter; sensor noise is added elsewhere), shifted
    to start at 0 and scaled so its largest excursion is a random 40-100% of the allowed one.

    Args:
        rng: random generator.
        n_frames: T.
        fps: frames per second (sets the smoothing width).
        max_deg: largest rotation about each axis, degrees.
        max_mm: largest translation along each axis, millimetres.

    Returns:
        ``(rotation, translation)``: (T, 3, 3) rotation matrices and (T, 3) translations in mm.
    """
    walk = np.cumsum(rng.standard_normal((n_frames, 6)), axis=0)
    if n_frames > 1:
        walk = gaussian_filter1d(walk, sigma=max(0.15 * fps, 1.0), axis=0, mode="nearest")
    walk -= walk[:1]
    peak = np.abs(walk).max(axis=0)
    limit = np.array([max_deg] * 3 + [max_mm] * 3) * rng.uniform(0.4, 1.0, size=6)
    walk *= np.where(peak > 0, limit / np.where(peak > 0, peak, 1.0), 0.0)
    return rotation_matrices(np.radians(walk[:, :3])), walk[:, 3:]


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations ``Rz(roll) @ Ry(yaw) @ Rx(pitch)`` from (T, 3) radians (pitch, yaw, roll)."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], axis=1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], axis=1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], axis=1).reshape(-1, 3, 3)
    return rz @ ry @ rx


def apply_pose(vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """Move frames rigidly: ``R_t (v - pivot) + pivot + t_t``.

    Args:
        vertices: (T, N, 3) float32.
        rotation: (T, 3, 3); translation: (T, 3); pivot: (3,).

    Returns:
        (T, N, 3) float32.
    """
    r = rotation.astype(np.float32)
    offset = (pivot[None, :] - np.einsum("tij,j->ti", rotation, pivot) + translation).astype(np.float32)
    return np.matmul(vertices, r.transpose(0, 2, 1)) + offset[:, None, :]
