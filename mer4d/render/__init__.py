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

from mer4d.core.errors import Mer4dError, UnknownNameError
from mer4d.core.optional import require
from mer4d.core.registry import suggest
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
        backend: "open3d" (CPU ray casting), "pytorch3d" (GPU rasterisation) or "auto", which
            picks open3d (pytorch3d will be chosen once it exists, when importable and CUDA is up).

    Raises:
        MissingDependencyError: the backend's package is not installed.
        UnknownNameError: ``backend`` is not one of :data:`BACKENDS`.
    """
    if backend in ("auto", "open3d"):
        # "auto" stays on open3d until the PyTorch3D backend lands; then it should prefer
        # pytorch3d only when it imports and torch.cuda.is_available().
        from mer4d.render.open3d_backend import Open3DRenderer

        return Open3DRenderer()
    if backend == "pytorch3d":
        require("pytorch3d", purpose="the pytorch3d renderer", hint="see README 'Optional: PyTorch3D'")
        raise Mer4dError("the pytorch3d renderer is not implemented yet (a later issue adds it); use backend='open3d'")
    close = suggest(str(backend), BACKENDS)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownNameError(f"unknown render backend {backend!r}{hint} Known: {', '.join(BACKENDS)}.")
