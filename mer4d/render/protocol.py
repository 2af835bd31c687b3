"""What every renderer returns (:class:`Rendered`) and promises (:class:`Renderer`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import DataError, ShapeError, UnknownNameError
from mer4d.core.registry import did_you_mean
from mer4d.core.shapes import check_shape
from mer4d.render.rig import Rig

DOMAINS = ("depth", "texture", "normals")


def check_domains(domains: Sequence[str]) -> tuple[str, ...]:
    """Validate requested render domains; returns them as a tuple without repeats.

    Raises:
        UnknownNameError: for a name outside :data:`DOMAINS`, with a did-you-mean.
    """
    if isinstance(domains, str):
        domains = (domains,)
    out: list[str] = []
    for domain in domains:
        if domain not in DOMAINS:
            hint = did_you_mean(str(domain), DOMAINS)
            raise UnknownNameError(f"unknown render domain {domain!r}{hint} Known: {', '.join(DOMAINS)}.")
        if domain not in out:
            out.append(domain)
    return tuple(out)


@dataclass(frozen=True)
class Rendered:
    """Per-frame, per-view images of a mesh (T frames, V views, H x W pixels).

    Depth and mask are always filled (they come from the same ray hits); ``texture`` and
    ``normals`` are None when their domain was not requested.

    Attributes:
        depth: (T, V, H, W) float32 mm along each view's optical axis, NaN where nothing was hit.
        texture: (T, V, H, W, 3) float32 RGB in [0, 1], 0 on the background, or None.
        normals: (T, V, H, W, 3) float32 unit world-space normals facing the camera, 0 on the
            background, or None.
        mask: (T, V, H, W) bool, True where the mesh was hit.
        view_names: the V view names, in order.
    """

    depth: np.ndarray
    texture: np.ndarray | None
    normals: np.ndarray | None
    mask: np.ndarray
    view_names: tuple[str, ...]

    def __post_init__(self) -> None:
        sizes = check_shape(self.depth, "T V H W", name="rendered depth")
        check_shape(self.mask, "T V H W", name="rendered mask", bound=sizes)
        if self.texture is not None:
            check_shape(self.texture, "T V H W 3", name="rendered texture", bound=sizes)
        if self.normals is not None:
            check_shape(self.normals, "T V H W 3", name="rendered normals", bound=sizes)
        names = tuple(self.view_names)
        if len(names) != sizes["V"]:
            raise ShapeError(f"rendered: {sizes['V']} views but {len(names)} view names {names}", "V names", (len(names),))
        object.__setattr__(self, "view_names", names)

    @property
    def num_frames(self) -> int:
        return int(self.depth.shape[0])

    def view_index(self, name: str) -> int:
        """Position of view ``name`` along the V axis."""
        if name not in self.view_names:
            hint = did_you_mean(name, self.view_names)
            raise UnknownNameError(f"no view named {name!r} in this rendering{hint} Views: {', '.join(self.view_names)}.")
        return self.view_names.index(name)


@runtime_checkable
class Renderer(Protocol):
    """A rendering backend (ray casting on the CPU, rasterisation on the GPU...).

    Attributes:
        name: the backend name ("open3d", "pytorch3d").
    """

    name: str

    def render(self, mesh: Mesh | MeshSeq, rig: Rig, domains: Sequence[str] = DOMAINS) -> Rendered:
        """Render every frame of ``mesh`` (a single :class:`Mesh` gives T = 1) from every view of ``rig``.

        ``domains`` chooses among "depth", "texture" and "normals"; depth and mask are always returned.
        """
        ...


# Shared by the backends: input checks and colour conversion, one definition for all of them.
def to_unit_float(a: np.ndarray) -> np.ndarray:
    # uint8 images/colours are 0..255; float ones are taken to be in [0, 1] already.
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.float32) / np.float32(255.0)
    return np.clip(a.astype(np.float32), 0.0, 1.0)


def mesh_frames(mesh: Mesh | MeshSeq) -> np.ndarray:
    """(T, N, 3) float32 C-contiguous vertices, checked to be finite for Embree."""
    if isinstance(mesh, Mesh):
        vertices = np.asarray(mesh.vertices)[None]
    elif isinstance(mesh, MeshSeq):
        vertices = np.asarray(mesh.vertices)
    else:
        raise DataError(f"render: expected a mer4d Mesh or MeshSeq, got {type(mesh).__name__}")
    if len(vertices) == 0:
        raise DataError("render: the mesh sequence has no frames (T = 0)")
    vertices = np.ascontiguousarray(vertices, dtype=np.float32)
    bad = ~np.isfinite(vertices).all(axis=(1, 2))
    if bad.any():
        raise DataError(f"render: vertices contain NaN or inf in frame(s) {np.flatnonzero(bad)[:5].tolist()}; drop or repair those vertices first")
    return vertices
