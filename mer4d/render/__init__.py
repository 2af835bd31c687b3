"""Render meshes into per-view depth, texture and normal images.

Importing this package is light: the Open3D backend imports ``open3d`` only when it is created.

Example:
    >>> from mer4d.render import Rig, get_renderer
    >>> rig = Rig.three_views(yaw_deg=30.0, size=224)
    >>> out = get_renderer("open3d").render(mesh_seq, rig)  # doctest: +SKIP
    >>> out.depth.shape  # doctest: +SKIP
    (T, 3, 224, 224)
"""

from __future__ import annotations

import importlib
import warnings

from mer4d.core.errors import MissingDependencyError, UnknownNameError
from mer4d.core.optional import require
from mer4d.core.registry import did_you_mean
from mer4d.render.protocol import DOMAINS, Rendered, Renderer, check_domains
from mer4d.render.rig import Rig, RigError, View, camera_frame, project, view_rays

BACKENDS = ("auto", "open3d", "pytorch3d")

__all__ = [
    "BACKENDS",
    "DOMAINS",
    "Rendered",
    "Renderer",
    "Rig",
    "RigError",
    "View",
    "camera_frame",
    "check_domains",
    "get_renderer",
    "project",
    "view_rays",
]


def get_renderer(backend: str = "auto") -> Renderer:
    """A renderer by backend name.

    Args:
        backend: "open3d" (CPU ray casting), "pytorch3d" (GPU rasterisation, see docs/pytorch3d.md)
            or "auto": pytorch3d when it imports and ``torch.cuda.is_available()``, else open3d
            (PyTorch3D on a CPU is far slower than Open3D's ray casting).

    Raises:
        MissingDependencyError: the backend's package is not installed.
        UnknownNameError: ``backend`` is not one of :data:`BACKENDS`.
    """
    if backend == "auto":
        backend = _auto_backend()
    if backend == "open3d":
        from mer4d.render.open3d_backend import Open3DRenderer

        return Open3DRenderer()
    if backend == "pytorch3d":
        from mer4d.render.pytorch3d_backend import PyTorch3DRenderer

        return PyTorch3DRenderer()
    hint = did_you_mean(str(backend), BACKENDS, n=3)
    raise UnknownNameError(f"unknown render backend {backend!r}{hint} Known: {', '.join(BACKENDS)}.")


def _auto_backend() -> str:
    """"pytorch3d" when its renderer imports and CUDA is available, else "open3d"."""
    try:
        importlib.import_module("pytorch3d")
    except ImportError:
        return "open3d"  # checked first: importing torch just to find CUDA is not needed then
    torch = require("torch", purpose="choosing a render backend")
    if not torch.cuda.is_available():
        return "open3d"
    try:
        from mer4d.render.pytorch3d_backend import require_pytorch3d

        require_pytorch3d()
    except MissingDependencyError as exc:  # installed but broken (e.g. built for another torch)
        warnings.warn(f"render backend 'auto': pytorch3d is installed but its renderer does not import, using open3d ({exc})", stacklevel=3)
        return "open3d"
    return "pytorch3d"
