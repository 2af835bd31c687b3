"""GPU renderer on PyTorch3D's mesh rasteriser (``pytorch3d.renderer.MeshRasterizer``).

The vertices of every (frame, view) pair are moved into that view's PyTorch3D view space here,
with :func:`pytorch3d_extrinsics` (built from :func:`mer4d.render.rig.camera_frame`, so nothing
depends on ``look_at_view_transform``), and PyTorch3D only projects them with identity-pose
cameras defined in NDC (:func:`ndc_intrinsics`). Conventions, derived in ``docs/pytorch3d.md``:

* PyTorch3D view space is +X left, +Y up, +Z forward (away from the camera); our camera frame
  is (x right, y up, z forward), so ``X = -x, Y = y, Z = z`` and PyTorch3D's ``zbuf`` is our depth
  along the optical axis, in mm from the eye (the eye plane for orthographic views).
* The rasteriser puts the centre of pixel (row, col) at NDC
  ``x = -s (col - (W - 1) / 2)``, ``y = -s (row - (H - 1) / 2)`` with ``s = 2 / min(H, W)``, so a
  focal length of ``s / pixel_mm`` (orthographic) or ``s * focal_px`` (perspective) in NDC units
  and a zero principal point reproduce :func:`mer4d.render.rig.project` exactly.

Shading after rasterisation is plain torch and mirrors the Open3D backend: bilinear texture
lookups with texel centres at ``(k + 0.5) / size`` clamped at the border, barycentric vertex
colours, a headlight gray ``|n . view|`` for bare meshes, and smooth area-weighted normals turned
towards the camera by the triangle's geometric normal. ``torch`` and ``pytorch3d`` are imported
only when a renderer is created (or a helper is called).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import DataError, Mer4dError
from mer4d.core.optional import require
from mer4d.render.protocol import DOMAINS, Rendered, check_domains, mesh_frames, to_unit_float
from mer4d.render.rig import Rig, View, camera_frame, view_rays

INSTALL_HINT = (
    "see docs/pytorch3d.md and README 'Optional: PyTorch3D' (conda's pytorch3d channel, or build from source "
    "against your torch/CUDA; PyPI wheels are stale), or use backend='open3d'"
)
_RAY_CACHE_SIZE = 8


def require_pytorch3d() -> tuple[Any, Any]:
    """``(pytorch3d.structures, pytorch3d.renderer)``, or :class:`MissingDependencyError` naming docs/pytorch3d.md."""
    require("pytorch3d", purpose="the pytorch3d renderer", hint=INSTALL_HINT)  # names the package itself when absent
    structures = require("pytorch3d.structures", purpose="the pytorch3d renderer", hint=INSTALL_HINT)
    renderer = require("pytorch3d.renderer", purpose="the pytorch3d renderer", hint=INSTALL_HINT)
    return structures, renderer


def pytorch3d_extrinsics(view: View) -> tuple[np.ndarray, np.ndarray]:
    """World-to-view transform of ``view`` in PyTorch3D's row-vector convention.

    Returns:
        R: (3, 3) float64 and T: (3,) float64 such that ``X_view = X_world @ R + T`` gives
        PyTorch3D view coordinates (+X left, +Y up, +Z forward, mm), with ``Z`` the depth along
        the optical axis as returned by :func:`mer4d.render.rig.project`.
    """
    eye, rot = camera_frame(view)  # rows: right, up, forward
    axes = rot * np.array([[-1.0], [1.0], [1.0]])  # rows: left, up, forward
    r = axes.T
    return r, -eye @ r


def ndc_intrinsics(view: View) -> tuple[float, tuple[float, float]]:
    """Focal length and principal point of ``view`` for a PyTorch3D camera with ``in_ndc=True``.

    For ``OrthographicCameras`` NDC ``x = f * X + px``; for ``PerspectiveCameras`` ``x = f * X / Z + px``
    (the same for y). With the rasteriser's pixel centres (see the module docstring) these give
    the pixel coordinates of :func:`mer4d.render.rig.project`.

    Returns:
        focal: in NDC units per mm (orthographic) or per unit of ``X / Z`` (perspective).
        principal_point: always ``(0.0, 0.0)``: the optical axis hits the image centre.
    """
    s = 2.0 / min(view.width, view.height)
    focal = s / view.pixel_mm if view.projection == "orthographic" else s * view.focal_px
    return focal, (0.0, 0.0)


def to_view_space(vertices: Any, views: Sequence[View]) -> Any:
    """Vertices of every frame in the PyTorch3D view space of every view.

    Args:
        vertices: (T, N, 3) world mm, a torch tensor (its device and dtype are kept) or an array.
        views: V views.

    Returns:
        (T, V, N, 3) torch tensor, ``X_world @ R + T`` with :func:`pytorch3d_extrinsics`.
    """
    torch = require("torch")
    vertices = torch.as_tensor(vertices)
    if not vertices.is_floating_point():
        vertices = vertices.float()
    rs, ts = zip(*(pytorch3d_extrinsics(v) for v in views), strict=True)
    r = torch.as_tensor(np.stack(rs), dtype=vertices.dtype, device=vertices.device)  # (V, 3, 3)
    t = torch.as_tensor(np.stack(ts), dtype=vertices.dtype, device=vertices.device)  # (V, 3)
    return torch.einsum("tnc,vcd->tvnd", vertices, r) + t[None, :, None, :]


@dataclass(frozen=True)
class _Prepared:
    """Frame-independent data of one mesh, on the renderer's device."""

    sources: tuple[Any, ...]  # the caller's arrays, compared by identity to reuse this entry
    n_vertices: int
    faces: Any  # (F, 3) int64 tensor
    uvs: Any  # (N, 2) float32 tensor or None
    texture: Any  # (1, 3, Ht, Wt) float32 tensor in [0, 1] or None
    colors: Any  # (N, 3) float32 tensor in [0, 1] or None


class PyTorch3DRenderer:
    """Rasterising renderer on PyTorch3D (GPU; runs on the CPU too, but far slower than open3d).

    Args:
        device: "auto" (CUDA when available, else CPU), "cuda", "cuda:1", "cpu"...
        faces_per_pixel: faces kept per pixel by the rasteriser; only the nearest is used, so 1
            suffices.
        bin_size: PyTorch3D's coarse-to-fine bin size; None lets PyTorch3D choose, 0 rasterises naively.
        max_faces_per_bin: PyTorch3D's bin capacity; None lets PyTorch3D choose (raise it if PyTorch3D
            warns that a bin overflowed on very dense meshes).
        batch_size: (frame, view) images rasterised together, to bound memory.
        smooth_normals: interpolate area-weighted vertex normals (True) or use flat face normals.

    The outputs follow :class:`mer4d.render.Rendered` exactly as the open3d backend does; see the
    module docstring for how the cameras are matched. Mesh arrays are treated as immutable:
    topology and appearance tensors are reused while the same arrays come back.
    """

    name = "pytorch3d"

    def __init__(
        self,
        device: str = "auto",
        faces_per_pixel: int = 1,
        bin_size: int | None = None,
        max_faces_per_bin: int | None = None,
        batch_size: int = 32,
        smooth_normals: bool = True,
    ):
        self._torch = require("torch", purpose="the pytorch3d renderer")
        self._structures, self._renderer = require_pytorch3d()
        torch = self._torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise Mer4dError("the pytorch3d renderer was asked for device 'cuda' but torch.cuda.is_available() is False; use device='cpu' or backend='open3d'")
        for field, value, low in (("faces_per_pixel", faces_per_pixel, 1), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise Mer4dError(f"PyTorch3DRenderer: {field} must be an integer >= {low}, got {value!r}")
        self.faces_per_pixel = faces_per_pixel
        self.bin_size = bin_size
        self.max_faces_per_bin = max_faces_per_bin
        self.batch_size = batch_size
        self.smooth_normals = bool(smooth_normals)
        self._dirs: dict[Rig, Any] = {}
        self._prepared: _Prepared | None = None

    def __repr__(self) -> str:
        return f"PyTorch3DRenderer(device={str(self.device)!r}, faces_per_pixel={self.faces_per_pixel}, bin_size={self.bin_size})"

    # -- cached inputs -----------------------------------------------------------------------

    def _rig_dirs(self, rig: Rig) -> Any:
        """(V, H*W, 3) unit viewing directions per pixel (for facing and headlight shading)."""
        cached = self._dirs.get(rig)
        if cached is None:
            dirs = np.stack([view_rays(v)[1] for v in rig.views]).reshape(len(rig), -1, 3).astype(np.float64)
            dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
            cached = self._torch.as_tensor(dirs, dtype=self._torch.float32, device=self.device)
            if len(self._dirs) >= _RAY_CACHE_SIZE:
                self._dirs.pop(next(iter(self._dirs)))
            self._dirs[rig] = cached
        return cached

    def _prepare(self, mesh: Mesh | MeshSeq, n_vertices: int) -> _Prepared:
        sources = (mesh.faces, mesh.uvs, mesh.texture, mesh.colors)
        cached = self._prepared
        if cached is not None and cached.n_vertices == n_vertices and all(a is b for a, b in zip(cached.sources, sources, strict=True)):
            return cached
        torch = self._torch
        faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
        if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
            raise DataError(f"render: face indices must lie in [0, {n_vertices}) for {n_vertices} vertices, found [{faces.min()}, {faces.max()}]; fix the mesh faces")
        uvs = texture = colors = None
        if mesh.uvs is not None and mesh.texture is not None:
            tex = to_unit_float(np.asarray(mesh.texture))
            texture = torch.as_tensor(np.ascontiguousarray(tex.transpose(2, 0, 1))[None], device=self.device)
            uvs = torch.as_tensor(np.asarray(mesh.uvs, dtype=np.float32), device=self.device)
        elif mesh.colors is not None:
            colors = torch.as_tensor(to_unit_float(np.asarray(mesh.colors)), device=self.device)
        faces_t = torch.as_tensor(faces, device=self.device)
        self._prepared = _Prepared(sources, n_vertices, faces_t, uvs, texture, colors)
        return self._prepared

    # -- rendering ---------------------------------------------------------------------------

    def render(self, mesh: Mesh | MeshSeq, rig: Rig, domains: Sequence[str] = DOMAINS) -> Rendered:
        """Render ``mesh`` (T = 1 for a :class:`Mesh`) from every view of ``rig``; see :class:`Rendered`."""
        torch = self._torch
        wanted = check_domains(domains)
        if not isinstance(rig, Rig):
            raise DataError(f"render: rig must be a mer4d.render.Rig, got {type(rig).__name__}; e.g. Rig.three_views()")
        frames = mesh_frames(mesh)
        prep = self._prepare(mesh, frames.shape[1])
        n_frames, n_views = len(frames), len(rig)
        shape = (n_frames, n_views, rig.height, rig.width)
        depth = np.full(shape, np.nan, dtype=np.float32)
        texture = np.zeros((*shape, 3), dtype=np.float32) if "texture" in wanted else None
        normals = np.zeros((*shape, 3), dtype=np.float32) if "normals" in wanted else None
        need_normals = normals is not None or (texture is not None and prep.uvs is None and prep.colors is None)
        with torch.no_grad():
            verts = torch.as_tensor(frames, device=self.device)  # (T, N, 3) world
            view_verts = to_view_space(verts, rig.views)  # (T, V, N, 3)
            shading = (None, None, None)
            if need_normals:
                shading = (*_normals(torch, verts, prep.faces, smooth=self.smooth_normals), self._rig_dirs(rig))
            for projection in ("orthographic", "pinhole"):
                view_ids = [i for i, v in enumerate(rig.views) if v.projection == projection]
                if not view_ids:
                    continue
                pairs = [(t, v) for t in range(n_frames) for v in view_ids]
                for start in range(0, len(pairs), self.batch_size):
                    t_idx, v_idx = (np.array(a, dtype=np.int64) for a in zip(*pairs[start : start + self.batch_size], strict=True))
                    t_dev, v_dev = (torch.as_tensor(a, device=self.device) for a in (t_idx, v_idx))
                    frags = self._rasterize(view_verts[t_dev, v_dev], prep.faces, [rig.views[v] for v in v_idx], projection == "pinhole")
                    out = _shade(torch, frags, prep, t_dev, v_dev, shading, want_texture=texture is not None, want_normals=need_normals)
                    depth[t_idx, v_idx] = out["depth"].cpu().numpy()
                    if texture is not None:
                        texture[t_idx, v_idx] = out["texture"].cpu().numpy()
                    if normals is not None:
                        normals[t_idx, v_idx] = out["normals"].cpu().numpy()
        mask = np.isfinite(depth)
        return Rendered(depth=depth, texture=texture, normals=normals, mask=mask, view_names=rig.names)

    def _rasterize(self, verts_view: Any, faces: Any, views: list[View], perspective: bool) -> tuple[Any, Any, Any]:
        """Rasterise B meshes already in PyTorch3D view space; returns (pix_to_face, zbuf, bary) of the nearest face."""
        torch, r = self._torch, self._renderer
        batch = len(views)
        focal = torch.tensor([[ndc_intrinsics(v)[0]] for v in views], dtype=torch.float32, device=self.device)  # (B, 1)
        common = {
            "focal_length": focal,
            "principal_point": torch.zeros((batch, 2), dtype=torch.float32, device=self.device),
            "R": torch.eye(3, dtype=torch.float32, device=self.device).repeat(batch, 1, 1),
            "T": torch.zeros((batch, 3), dtype=torch.float32, device=self.device),
            "in_ndc": True,
            "device": self.device,
        }
        cameras = r.PerspectiveCameras(**common) if perspective else r.OrthographicCameras(**common)
        settings = r.RasterizationSettings(
            image_size=(views[0].height, views[0].width),
            blur_radius=0.0,
            faces_per_pixel=self.faces_per_pixel,
            bin_size=self.bin_size,
            max_faces_per_bin=self.max_faces_per_bin,
            perspective_correct=perspective,
            cull_backfaces=False,
        )
        meshes = self._structures.Meshes(verts=verts_view.contiguous(), faces=faces.expand(batch, *faces.shape).contiguous())
        frags = r.MeshRasterizer(cameras=cameras, raster_settings=settings)(meshes)
        return frags.pix_to_face[..., 0], frags.zbuf[..., 0], frags.bary_coords[..., 0, :]


def _normals(torch: Any, verts: Any, faces: Any, smooth: bool, chunk: int = 16) -> tuple[Any, Any]:
    """Per frame unit vertex normals (T, N, 3) (area-weighted; None when not smooth) and unit face normals (T, F, 3)."""
    face_n = torch.empty((verts.shape[0], faces.shape[0], 3), dtype=verts.dtype, device=verts.device)
    vertex_n = torch.zeros_like(verts) if smooth else None
    for start in range(0, verts.shape[0], chunk):  # bounds the (chunk, F, 3, 3) corner gather
        p = verts[start : start + chunk][:, faces]
        cross = torch.linalg.cross(p[:, :, 1] - p[:, :, 0], p[:, :, 2] - p[:, :, 0], dim=-1)  # twice the area, CCW side
        face_n[start : start + chunk] = torch.nn.functional.normalize(cross, dim=-1)
        if vertex_n is not None:
            for k in range(3):  # summing unnormalised face normals weights each face by its area
                vertex_n[start : start + chunk].index_add_(1, faces[:, k], cross)
    if vertex_n is not None:
        vertex_n = torch.nn.functional.normalize(vertex_n, dim=-1)
    return vertex_n, face_n


def _interp(torch: Any, attr: Any, corners: Any, weights: Any) -> Any:
    """Barycentric mix of per-vertex ``attr`` (M, C) at corner ids (P, 3) with weights (P, 3) -> (P, C).

    The same as ``pytorch3d.ops.interpolate_face_attributes`` for the nearest face, in plain torch.
    """
    return torch.einsum("pk,pkc->pc", weights, attr[corners])


def _sample_texture(torch: Any, texture: Any, uv: Any) -> Any:
    """Bilinear lookup of (1, 3, Ht, Wt) at uv (P, 2) (v = 0 at the image bottom), clamped at the border -> (P, 3)."""
    # align_corners=False puts texel centres at (k + 0.5) / size, as the open3d backend does.
    grid = torch.stack([uv[:, 0] * 2.0 - 1.0, 1.0 - uv[:, 1] * 2.0], dim=-1)[None, None]  # (1, 1, P, 2)
    out = torch.nn.functional.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].T


def _shade(
    torch: Any,
    frags: tuple[Any, Any, Any],
    prep: _Prepared,
    t_idx: Any,
    v_idx: Any,
    shading: tuple[Any, Any, Any],
    want_texture: bool,
    want_normals: bool,
) -> dict[str, Any]:
    """Depth, texture and normals of B images from their nearest-face fragments.

    Args:
        frags: pix_to_face (B, H, W) int64 indices into the packed faces (image b's face f is
            ``b * F + f``; -1 on the background), zbuf (B, H, W) view-space z, bary (B, H, W, 3).
        t_idx, v_idx: (B,) int64 tensors, frame and view of each image.
        shading: (vertex normals (T, N, 3) or None, face normals (T, F, 3), unit pixel directions
            (V, H*W, 3)); the last two are needed only with ``want_normals``.
        want_normals: compute normals (also needed for the headlight gray of bare meshes).
    """
    pix_to_face, zbuf, bary = frags
    batch, height, width = pix_to_face.shape
    n_faces = prep.faces.shape[0]
    hit = pix_to_face >= 0
    out: dict[str, Any] = {"depth": torch.where(hit, zbuf, torch.full_like(zbuf, float("nan")))}
    if not (want_texture or want_normals):
        return out
    b, pix = torch.nonzero(hit.reshape(batch, -1), as_tuple=True)  # (P,) image and flat pixel of each hit
    face = pix_to_face.reshape(batch, -1)[b, pix] - b * n_faces
    weights = bary.reshape(batch, -1, 3)[b, pix]
    corners = prep.faces[face]  # (P, 3)
    vertex_n, face_n, dirs = shading
    n_hit = None
    if want_normals:
        t_of = t_idx[b]
        dirs = dirs[v_idx[b], pix]
        fn = face_n[t_of, face]
        facing = torch.where((fn * dirs).sum(-1, keepdim=True) > 0, -1.0, 1.0)
        if vertex_n is None:
            n_hit = fn
        else:
            n_vertices = vertex_n.shape[1]
            n_hit = _interp(torch, vertex_n.reshape(-1, 3), corners + t_of[:, None] * n_vertices, weights)
            length = n_hit.norm(dim=-1, keepdim=True)
            degenerate = length < 1e-6
            n_hit = torch.where(degenerate, fn, n_hit / torch.where(degenerate, torch.ones_like(length), length))
        n_hit = n_hit * facing
        normals = torch.zeros((batch, height * width, 3), dtype=torch.float32, device=pix.device)
        normals[b, pix] = n_hit
        out["normals"] = normals.reshape(batch, height, width, 3)
    if want_texture:
        if prep.uvs is not None:
            rgb = _sample_texture(torch, prep.texture, _interp(torch, prep.uvs, corners, weights))
        elif prep.colors is not None:
            rgb = _interp(torch, prep.colors, corners, weights)
        else:
            rgb = (n_hit * dirs).sum(-1).abs()[:, None].expand(-1, 3)
        texture = torch.zeros((batch, height * width, 3), dtype=torch.float32, device=pix.device)
        texture[b, pix] = rgb
        out["texture"] = texture.reshape(batch, height, width, 3)
    return out
