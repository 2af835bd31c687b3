"""Cameras as data: a :class:`View` is one virtual camera, a :class:`Rig` the views rendered together.

Cameras follow the mesh convention of :mod:`mer4d.core.containers` (millimetres, +X towards the
subject's left, +Y up, +Z out of the face). A view with ``yaw_deg = pitch_deg = 0`` sits on the +Z
axis, ``distance_mm`` from ``target``, looking down -Z with +Y up, so the subject's left (+X)
appears on the right of the image. Positive yaw swings the camera towards +X (the "left" view
sees the left cheek); positive pitch raises it.

Pixel coordinates are OpenCV-style: ``(u, v)`` = (column, row), integers at pixel centres, so the
image centre is ``((W - 1) / 2, (H - 1) / 2)`` and ``np.round(uv)`` indexes the pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mer4d.core.errors import Mer4dError, UnknownNameError
from mer4d.core.registry import did_you_mean
from mer4d.core.shapes import check_shape

PROJECTIONS = ("orthographic", "pinhole")
NAMED_VIEWS = ("left", "front", "right")


class RigError(Mer4dError, ValueError):
    """A view or rig has an invalid value (size, extent, field of view, names...)."""


def _number(value: Any, field: str, view: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise RigError(f"view '{view}': {field} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class View:
    """One virtual camera looking at ``target``.

    Attributes:
        name: label of the view ("front", "left", ...), unique within a rig.
        yaw_deg: rotation about +Y; positive moves the camera towards +X (the subject's left).
        pitch_deg: elevation in (-90, 90); positive moves the camera up.
        projection: "orthographic" (parallel rays, default) or "pinhole".
        width, height: image size in pixels.
        extent_mm: orthographic only: the image width covers this many millimetres (square pixels).
        fov_deg: pinhole only: horizontal field of view in (0, 180) degrees.
        distance_mm: camera distance from ``target``; depth is measured from the eye, and for
            orthographic views too, so geometry nearer than the eye plane is not seen.
        target: the look-at point (x, y, z) in millimetres.
    """

    name: str
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    projection: Literal["orthographic", "pinhole"] = "orthographic"
    width: int = 224
    height: int = 224
    extent_mm: float = 220.0
    fov_deg: float = 30.0
    distance_mm: float = 600.0
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise RigError(f"a view needs a non-empty string name, got {self.name!r}")
        name = self.name
        if self.projection not in PROJECTIONS:
            hint = did_you_mean(str(self.projection), PROJECTIONS)
            raise RigError(f"view '{name}': projection must be one of {PROJECTIONS}, got {self.projection!r}{hint}")
        for field in ("width", "height"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise RigError(f"view '{name}': {field} must be a positive integer number of pixels, got {value!r}")
            object.__setattr__(self, field, int(value))
        for field in ("yaw_deg", "pitch_deg", "extent_mm", "fov_deg", "distance_mm"):
            object.__setattr__(self, field, _number(getattr(self, field), field, name))
        if not -90.0 < self.pitch_deg < 90.0:
            # At +-90 the camera looks straight along the world up axis and "image up" is undefined.
            raise RigError(f"view '{name}': pitch_deg must lie strictly between -90 and 90, got {self.pitch_deg}")
        if self.extent_mm <= 0:
            raise RigError(f"view '{name}': extent_mm must be > 0 (the width of the orthographic image in mm), got {self.extent_mm}")
        if not 0.0 < self.fov_deg < 180.0:
            raise RigError(f"view '{name}': fov_deg must lie strictly between 0 and 180 degrees, got {self.fov_deg}")
        if self.distance_mm <= 0:
            raise RigError(f"view '{name}': distance_mm must be > 0, got {self.distance_mm}")
        target = tuple(self.target) if isinstance(self.target, (tuple, list, np.ndarray)) else ()
        if len(target) != 3:
            raise RigError(f"view '{name}': target must be three numbers (x, y, z) in mm, got {self.target!r}")
        object.__setattr__(self, "target", tuple(_number(c, "target", name) for c in target))

    @property
    def focal_px(self) -> float:
        """Pinhole focal length in pixels (from the horizontal field of view)."""
        return 0.5 * self.width / math.tan(math.radians(self.fov_deg) / 2.0)

    @property
    def pixel_mm(self) -> float:
        """Orthographic pixel size in millimetres."""
        return self.extent_mm / self.width


@dataclass(frozen=True)
class Rig:
    """The views rendered together; all share one image size so results stack as (T, V, H, W).

    Attributes:
        views: one or more :class:`View` with unique names, in output order.
    """

    views: tuple[View, ...]

    def __post_init__(self) -> None:
        views = tuple(self.views) if isinstance(self.views, (tuple, list)) else ()
        if not views:
            raise RigError(f"a rig needs at least one View, got {self.views!r}; e.g. Rig.front() or Rig.three_views()")
        for view in views:
            if not isinstance(view, View):
                raise RigError(f"rig views must be View objects, got {type(view).__name__}")
        names = [v.name for v in views]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RigError(f"rig view names must be unique, got {names} (repeated: {dupes})")
        sizes = {(v.height, v.width) for v in views}
        if len(sizes) > 1:
            raise RigError(f"all views of a rig must share one image size (H, W), got {sorted(sizes)}; render differing sizes with separate rigs")
        object.__setattr__(self, "views", views)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.views)

    @property
    def height(self) -> int:
        return self.views[0].height

    @property
    def width(self) -> int:
        return self.views[0].width

    def __len__(self) -> int:
        return len(self.views)

    @classmethod
    def front(cls, size: int = 224, **view_options: Any) -> Rig:
        """One frontal view of ``size`` x ``size`` pixels (``view_options`` go to :class:`View`)."""
        return cls.from_names(("front",), size=size, **view_options)

    @classmethod
    def three_views(cls, yaw_deg: float = 30.0, size: int = 224, **view_options: Any) -> Rig:
        """Views "left" (yaw +``yaw_deg``), "front" and "right" (yaw -``yaw_deg``)."""
        return cls.from_names(NAMED_VIEWS, yaw_deg=yaw_deg, size=size, **view_options)

    @classmethod
    def from_names(cls, names: Sequence[str], yaw_deg: float = 30.0, size: int = 224, **view_options: Any) -> Rig:
        """Build a rig from view names in {"left", "front", "right"}, kept in the given order.

        Args:
            names: e.g. ``("front",)`` or ``("left", "front", "right")``.
            yaw_deg: magnitude of the side views' yaw.
            size: square image size in pixels.
            **view_options: other :class:`View` fields shared by all views (projection, extent_mm...).
        """
        if isinstance(names, str):
            names = (names,)
        signs = {"left": 1.0, "front": 0.0, "right": -1.0}
        views = []
        for name in names:
            if name not in signs:
                hint = did_you_mean(str(name), NAMED_VIEWS)
                raise UnknownNameError(f"unknown view name {name!r}{hint} Known: {', '.join(NAMED_VIEWS)}; build other views with View(...)")
            views.append(View(name, yaw_deg=signs[name] * _number(yaw_deg, "yaw_deg", name), width=size, height=size, **view_options))
        return cls(tuple(views))


def camera_frame(view: View) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and orientation of ``view``.

    Returns:
        eye: (3,) float64 camera centre in mm.
        rotation: (3, 3) float64 whose rows are the camera's right, up and forward (viewing
            direction) unit vectors in world coordinates; ``rotation @ (p - eye)`` gives camera
            coordinates (x right, y up, z depth along the optical axis).
    """
    yaw, pitch = math.radians(view.yaw_deg), math.radians(view.pitch_deg)
    offset = np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw)])
    eye = np.asarray(view.target, dtype=np.float64) + view.distance_mm * offset
    forward = -offset
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return eye, np.stack([right, up, forward])


def view_rays(view: View) -> tuple[np.ndarray, np.ndarray]:
    """One ray per pixel of ``view``.

    Directions are scaled so that their forward component is 1: a hit at ray parameter ``t``
    lies at depth ``t`` mm along the optical axis (unit length for orthographic views).

    Returns:
        origins: (H, W, 3) float32 mm (the eye for pinhole views, the image plane through the eye
            for orthographic views).
        directions: (H, W, 3) float32.
    """
    eye, rot = camera_frame(view)
    right, up, forward = rot
    cols = np.arange(view.width, dtype=np.float64) - (view.width - 1) / 2.0
    rows = np.arange(view.height, dtype=np.float64) - (view.height - 1) / 2.0
    x, y = cols[None, :, None], -rows[:, None, None]  # rows grow downwards, camera y upwards
    shape = (view.height, view.width, 3)
    if view.projection == "orthographic":
        s = view.pixel_mm
        origins = eye + x * s * right + y * s * up
        directions = np.broadcast_to(forward, shape)
    else:
        f = view.focal_px
        origins = np.broadcast_to(eye, shape)
        directions = forward + (x / f) * right + (y / f) * up
    return np.ascontiguousarray(origins, dtype=np.float32), np.ascontiguousarray(directions, dtype=np.float32)


def project(view: View, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points into ``view``'s image.

    Args:
        view: the camera.
        points: (N, 3) world coordinates in mm.

    Returns:
        uv: (N, 2) float32 pixel coordinates (column, row), integers at pixel centres; NaN for
            points at or behind a pinhole camera.
        depth: (N,) float32 mm along the optical axis, as in the rendered depth.
    """
    check_shape(points, "N 3", name="points")
    eye, rot = camera_frame(view)
    cam = (np.asarray(points, dtype=np.float64) - eye) @ rot.T
    depth = cam[:, 2]
    if view.projection == "orthographic":
        scale = np.full_like(depth, 1.0 / view.pixel_mm)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(depth > 0, view.focal_px / depth, np.nan)
    u = (view.width - 1) / 2.0 + cam[:, 0] * scale
    v = (view.height - 1) / 2.0 - cam[:, 1] * scale
    return np.stack([u, v], axis=1).astype(np.float32), depth.astype(np.float32)
