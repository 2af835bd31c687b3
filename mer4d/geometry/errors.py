"""The geometry package's error, and the input checks its public functions share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import Mer4dError


class GeometryError(Mer4dError, ValueError):
    """A mesh, transform or geometry option cannot be used as asked (wrong type, bad indices, too few landmarks...)."""


def check_mesh(mesh: Any, where: str) -> Mesh:
    """Return ``mesh`` if it is a :class:`Mesh`, else raise saying how to make one."""
    if not isinstance(mesh, Mesh):
        raise GeometryError(f"{where}: expected a mer4d Mesh, found {type(mesh).__name__}. "
                            "Fix: wrap arrays as Mesh(vertices=(N, 3) float32, faces=(F, 3) int64); use the *_seq function for a MeshSeq.")
    return mesh


def check_seq(seq: Any, where: str) -> MeshSeq:
    """Return ``seq`` if it is a :class:`MeshSeq`, else raise saying how to make one."""
    if not isinstance(seq, MeshSeq):
        raise GeometryError(f"{where}: expected a mer4d MeshSeq, found {type(seq).__name__}. "
                            "Fix: pass MeshSeq(vertices=(T, N, 3), faces=(F, 3), fps=...); for one Mesh use the mesh function.")
    return seq


def check_onset(seq: MeshSeq, onset_index: Any, where: str) -> int:
    """Validate the position (0-based, not the absolute frame number) of the clip's reference frame."""
    n = len(seq)
    if isinstance(onset_index, bool) or not isinstance(onset_index, (int, np.integer)) or not 0 <= onset_index < n:
        raise GeometryError(f"{where}: onset_index must be an integer position in [0, {n}) of the {n}-frame clip, found {onset_index!r}. "
                            "Fix: pass the onset's position, e.g. int(np.searchsorted(seq.frame_numbers, onset_frame_number)).")
    return int(onset_index)


def check_faces(faces: np.ndarray, n_vertices: int, where: str) -> np.ndarray:
    """Faces as int64 after checking they are integers indexing ``n_vertices`` vertices."""
    if not np.issubdtype(faces.dtype, np.integer):
        raise GeometryError(f"{where}: faces must hold integer vertex indices, found dtype {faces.dtype}. Fix: faces.astype(np.int64).")
    if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
        raise GeometryError(f"{where}: face indices must lie in [0, {n_vertices}) for {n_vertices} vertices, found "
                            f"[{int(faces.min())}, {int(faces.max())}]. Fix: the faces belong to another mesh, or the file is corrupt.")
    return faces.astype(np.int64, copy=False)


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number within the given bounds, as float."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value)
    if not bad:
        v = float(value)
        bad = (low is not None and (v <= low if low_open else v < low)) or (high is not None and (v >= high if high_open else v > high))
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise GeometryError(f"{name}: expected a finite number in {interval}, found {value!r}.")
    return float(value)
