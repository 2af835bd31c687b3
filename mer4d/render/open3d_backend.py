"""CPU renderer: pixel-centre rasterisation in numpy, or Open3D's Embree ray caster; headless, no GL.

The triangle behind each pixel centre is found by :mod:`mer4d.render.raster` by default (the
same hits as one ray per pixel, tested against the caster in ``tests/render/test_raster.py``),
or by ``hits="raycast"``: per frame one Embree scene is built (Open3D exposes no BVH refit, so it
is rebuilt) and each view casts its rays; views the rasteriser cannot do exactly (a pinhole view
with a triangle crossing the camera plane) are always cast. What does not change between frames is prepared once and cached while the same arrays
come back: the rays of a rig, and per topology the face index tensor, the vertex-face incidence
matrix used for smooth normals and the float texture. Attributes are interpolated from the hit
triangle's corners with the barycentric ``primitive_uvs`` (u, v): the hit point is
``(1 - u - v) * p0 + u * p1 + v * p2``.

Where the time goes with ``hits="raycast"`` (``tools/bench_render.py``: ~50k vertices / ~100k
triangles, 224 x 224 views, depth + texture + normals, on a shared 2-core Xeon VM; ms of CPU): the
Embree BVH build ~31 per frame, the cast ~8.5 per view (~215 ns per hitting ray, ~40 ns per missing one), the numpy
shading ~4 per view plus ~3.5 per frame for the smooth vertex normals (~6 and ~6.5 before the
per-coordinate rewrite below): ~23-25 ms per view with 3 views per frame, ~48 with one.

The shading works on one-dimensional per-coordinate arrays: numpy's gathers of 12-byte (x, y, z)
rows and broadcast ``(P, 3) * (P, 1)`` products ran 2-4 times slower than the same work as 1-D
``take`` and elementwise ops, and the per-channel scatter ``out[:, c][pix] = value`` ran ~10 times
faster than ``out[pix] = rows``. It performs the same float32 operations in the same order as
the row-wise formulation, and its results matched that one bit for bit.

Rasterising instead costs ~5 ms per view and nothing per frame, which is what brought the
renderer under its 15 ms/view target (figures in the benchmark's table).

Tried and dropped for the ray caster (measured): a thread pool overlapping one frame's build with another's shading
(Open3D holds the GIL through the build and the cast: no gain); several frames in one scene (the
build stays single-threaded and linear in the triangle count, whatever ``nthreads`` says); casting
only the rays inside the box of the projected vertices (saved ~5% of the cast, all of it spent
computing the box); a process pool over frame chunks (2.3 s to spawn the workers and import
Open3D in them, and then slower per frame than one process on the shared 2 cores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import DataError
from mer4d.core.optional import require
from mer4d.render.protocol import DOMAINS, Rendered, check_domains, mesh_frames, to_unit_float
from mer4d.render.raster import rasterize
from mer4d.render.rig import Rig, view_rays

_RAY_CACHE_SIZE = 8
HIT_METHODS = ("auto", "raster", "raycast")


@dataclass(frozen=True)
class _ViewRays:
    tensor: Any  # open3d.core.Tensor (H, W, 6) float32 origins and directions
    unit_dirs: np.ndarray  # (3, H*W) float32 unit viewing directions per pixel; (3, 1) when all are equal


@dataclass(frozen=True)
class _Prepared:
    """Frame-independent data of one mesh (topology and appearance)."""

    sources: tuple[Any, ...]  # the caller's arrays, compared by identity to reuse this entry
    corner_ids: tuple[np.ndarray, np.ndarray, np.ndarray]  # the three (F,) int64 columns of ``faces``
    faces_t: Any  # open3d.core.Tensor (F, 3) uint32
    incidence: Any  # scipy CSR (N, F): vertex normals = incidence @ face normals, or None
    incidence_n: int  # N, the vertex count the faces were checked against
    uvs: tuple[np.ndarray, np.ndarray] | None  # u and v, (N,) float32 each
    texture: np.ndarray | None  # (3, Ht*Wt) float32 channels in [0, 1], rows top to bottom
    tex_hw: tuple[int, int]
    colors: np.ndarray | None  # (3, N) float32 channels in [0, 1]


@dataclass
class _Hits:
    """The pixels of one view that met the mesh, with their triangle corners and weights (:func:`_make_hits`)."""

    pix: np.ndarray  # (P,) flat pixel index in the view image
    corners: tuple[np.ndarray, np.ndarray, np.ndarray]  # (P,) vertex ids of the hit triangles
    weights: tuple[np.ndarray, np.ndarray, np.ndarray]  # (P,) float32 barycentric weights
    # Only when normals are needed (normals domain, headlight gray):
    face_n: tuple[np.ndarray, ...] | None  # x, y, z (P,) float32 unit geometric normals of the hit triangles
    dirs: tuple[Any, ...] | None  # x, y, z (P,) float32 unit viewing directions, or three scalars


def _incidence(faces: np.ndarray, n_vertices: int) -> Any:
    sparse = require("scipy.sparse", purpose="smooth normals in the open3d renderer", hint="pip install scipy")
    corners = faces.T.reshape(-1)  # corner k of face f sits at k * F + f
    order = np.argsort(corners, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(corners, minlength=n_vertices))])
    ones = np.ones(len(corners), dtype=np.float32)
    return sparse.csr_matrix((ones, order % len(faces), indptr), shape=(n_vertices, len(faces)))


def _face_normals_xyz(xyz: tuple[np.ndarray, ...], corner_ids: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """x, y, z (F,) float32 of the cross products (twice the face area, counter-clockwise side)."""
    # Per-coordinate 1-D gathers and in-place arithmetic are ~3x faster than np.cross on (F, 3) rows.
    x, y, z = xyz
    i0, i1, i2 = corner_ids
    x0, y0, z0 = x.take(i0), y.take(i0), z.take(i0)
    ax, ay, az = x.take(i1), y.take(i1), z.take(i1)
    ax -= x0
    ay -= y0
    az -= z0
    bx, by, bz = x.take(i2), y.take(i2), z.take(i2)
    bx -= x0
    by -= y0
    bz -= z0
    nx = ay * bz
    nx -= az * by
    ny = az * bx
    ny -= ax * bz
    nz = ax * by
    nz -= ay * bx
    return nx, ny, nz


def _vertex_normals_xyz(face_n: tuple[np.ndarray, ...], incidence: Any) -> tuple[np.ndarray, ...]:
    """Unit area-weighted vertex normals as x, y, z (N,) float32 arrays; (0, 0, 0) for unused vertices.

    ``face_n``: :func:`_face_normals_xyz` of the frame (unnormalised: each weighs by its area,
    which is exactly the weight wanted).
    """
    # Three sparse mat-vecs (~0.25 ms each) beat one mat-mat with an (F, 3) block.
    n = [np.asarray(incidence @ c, dtype=np.float32) for c in face_n]
    length = np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
    used = length > 0
    for c in n:
        np.divide(c, length, out=c, where=used)
    return tuple(n)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence: Any = None) -> np.ndarray:
    """Area-weighted unit vertex normals.

    Args:
        vertices: (N, 3) float32 mm.
        faces: (F, 3) integer vertex ids, counter-clockwise seen from outside.
        incidence: optional precomputed (N, F) vertex-face incidence matrix (reused across frames).

    Returns:
        (N, 3) float32; vertices used by no (non-degenerate) face get (0, 0, 0).
    """
    faces = np.asarray(faces, dtype=np.int64)
    if incidence is None:
        incidence = _incidence(faces, len(vertices))
    corner_ids = tuple(np.ascontiguousarray(faces.T))
    xyz = tuple(np.ascontiguousarray(np.asarray(vertices).T, dtype=np.float32))
    return np.stack(_vertex_normals_xyz(_face_normals_xyz(xyz, corner_ids), incidence), axis=1)


def _mix(table: np.ndarray, corners: tuple[np.ndarray, ...], weights: tuple[np.ndarray, ...]) -> np.ndarray:
    """Barycentric mix of one per-vertex channel: table (N,) -> (P,) float32."""
    out = table.take(corners[0])
    out *= weights[0]
    for k in (1, 2):
        part = table.take(corners[k])
        part *= weights[k]
        out += part
    return out


def _lerp(channel: np.ndarray, i_a: np.ndarray, i_b: np.ndarray, f: np.ndarray) -> np.ndarray:
    a = channel.take(i_a)
    b = channel.take(i_b)
    b -= a
    b *= f
    a += b
    return a


def _sample_texture(channels: np.ndarray, hw: tuple[int, int], u: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    """Bilinear lookup, clamped at the edges; v = 0 at the image bottom -> three (P,) float32 channels."""
    h, w = hw
    # Texel centres sit at (k + 0.5) / size; v runs bottom-up while image rows run top-down.
    x = u * np.float32(w) - np.float32(0.5)
    y = (np.float32(1.0) - v) * np.float32(h) - np.float32(0.5)
    np.clip(x, 0, w - 1, out=x)
    np.clip(y, 0, h - 1, out=y)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0  # float32: subtracting ints would promote to float64
    ix, iy = x0.astype(np.intp), y0.astype(np.intp)
    i00 = iy * w + ix
    i01 = i00 + (ix < w - 1)
    step_y = np.where(iy < h - 1, w, 0)
    i10, i11 = i00 + step_y, i01 + step_y
    out = []
    for channel in channels:
        top = _lerp(channel, i00, i01, fx)
        bottom = _lerp(channel, i10, i11, fx)
        bottom -= top
        bottom *= fy
        top += bottom
        out.append(top)
    return out


class Open3DRenderer:
    """Ray-casting renderer (CPU, Embree through Open3D).

    Args:
        smooth_normals: interpolate area-weighted vertex normals (True) or use flat face normals.
        nthreads: threads for Embree; 0 lets Open3D choose.
        hits: how the triangle behind each pixel centre is found: "raycast" (Open3D's Embree
            scene, rebuilt every frame), "raster" (:mod:`mer4d.render.raster`, the same hits
            without a BVH; a pinhole view with a triangle crossing the camera plane is cast
            instead), or "auto" (= "raster").

    Meshes without uvs/texture or colours get a gray "headlight" shading ``|n . view|`` in the
    texture domain, so it still shows the surface. Texture lookups clamp uvs to [0, 1]. Mesh
    arrays are treated as immutable: topology data is reused while the same arrays come back.
    """

    name = "open3d"

    def __init__(self, smooth_normals: bool = True, nthreads: int = 0, hits: str = "auto"):
        self._o3d = require("open3d", purpose="the open3d renderer", hint="pip install open3d (and apt-get install libusb-1.0-0)")
        if hits not in HIT_METHODS:
            raise DataError(f"render: hits must be one of {HIT_METHODS}, got {hits!r}")
        self.smooth_normals = bool(smooth_normals)
        self.nthreads = int(nthreads)
        self.hits = hits
        self._rays: dict[Rig, tuple[_ViewRays, ...]] = {}
        self._prepared: _Prepared | None = None

    def _rig_rays(self, rig: Rig) -> tuple[_ViewRays, ...]:
        cached = self._rays.get(rig)
        if cached is not None:
            return cached
        entry = []
        for view in rig.views:
            origins, dirs = view_rays(view)
            rays = np.ascontiguousarray(np.concatenate([origins, dirs], axis=-1), dtype=np.float32)
            flat = dirs.reshape(-1, 3)
            unit = (flat / np.linalg.norm(flat, axis=1, keepdims=True)).astype(np.float32)
            if view.projection == "orthographic":
                unit = unit[:1]  # parallel rays: one direction serves every pixel
            entry.append(_ViewRays(self._o3d.core.Tensor(rays), np.ascontiguousarray(unit.T)))
        if len(self._rays) >= _RAY_CACHE_SIZE:
            self._rays.pop(next(iter(self._rays)))
        self._rays[rig] = tuple(entry)
        return self._rays[rig]

    def _prepare(self, mesh: Mesh | MeshSeq, n_vertices: int) -> _Prepared:
        sources = (mesh.faces, mesh.uvs, mesh.texture, mesh.colors)
        cached = self._prepared
        if cached is not None and cached.incidence_n == n_vertices and all(a is b for a, b in zip(cached.sources, sources, strict=True)):
            return cached
        faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
        if faces.size and (faces.min() < 0 or faces.max() >= n_vertices):
            raise DataError(f"render: face indices must lie in [0, {n_vertices}) for {n_vertices} vertices, found [{faces.min()}, {faces.max()}]; fix the mesh faces")
        uvs = texture = colors = None
        tex_hw = (0, 0)
        if mesh.uvs is not None and mesh.texture is not None:
            tex = to_unit_float(np.asarray(mesh.texture))
            uv = np.asarray(mesh.uvs, dtype=np.float32)
            uvs = (np.ascontiguousarray(uv[:, 0]), np.ascontiguousarray(uv[:, 1]))
            texture, tex_hw = np.ascontiguousarray(tex.reshape(-1, 3).T), tex.shape[:2]
        elif mesh.colors is not None:
            colors = np.ascontiguousarray(to_unit_float(np.asarray(mesh.colors)).T)
        incidence = _incidence(faces, n_vertices) if self.smooth_normals else None
        faces_t = self._o3d.core.Tensor(faces.astype(np.uint32))
        corner_ids = tuple(np.ascontiguousarray(faces.T))
        self._prepared = _Prepared(sources, corner_ids, faces_t, incidence, n_vertices, uvs, texture, tex_hw, colors)
        return self._prepared

    def render(self, mesh: Mesh | MeshSeq, rig: Rig, domains: Sequence[str] = DOMAINS) -> Rendered:
        """Render ``mesh`` (T = 1 for a :class:`Mesh`) from every view of ``rig``; see :class:`Rendered`."""
        wanted = check_domains(domains)
        if not isinstance(rig, Rig):
            raise DataError(f"render: rig must be a mer4d.render.Rig, got {type(rig).__name__}; e.g. Rig.three_views()")
        vertices = mesh_frames(mesh)
        prep = self._prepare(mesh, vertices.shape[1])
        views = self._rig_rays(rig)
        shape = (len(vertices), len(rig), rig.height, rig.width)
        depth = np.empty(shape, dtype=np.float32)  # every view writes all of its pixels
        texture = np.zeros((*shape, 3), dtype=np.float32) if "texture" in wanted else None
        normals = np.zeros((*shape, 3), dtype=np.float32) if "normals" in wanted else None
        # Headlight gray for bare meshes needs normals even when they are not returned.
        need_normals = normals is not None or (texture is not None and prep.uvs is None and prep.colors is None)
        shade = texture is not None or need_normals
        for t in range(len(vertices)):
            xyz = tuple(np.ascontiguousarray(vertices[t].T))
            scene = None  # built on the first view that casts rays
            face_n = _face_normals_xyz(xyz, prep.corner_ids) if need_normals else None  # shared by the views
            vertex_n = _vertex_normals_xyz(face_n, prep.incidence) if need_normals and self.smooth_normals else None
            for v, (view, rays) in enumerate(zip(rig.views, views, strict=True)):
                raster = None if self.hits == "raycast" else rasterize(view, xyz, prep.corner_ids)
                if raster is not None:
                    depth[t, v] = raster.depth.reshape(depth.shape[2:])
                    hits = _make_hits(raster.pix, raster.prim, raster.w1, raster.w2, rays, prep, need_normals, face_n) if shade else None
                else:
                    if scene is None:
                        scene = self._o3d.t.geometry.RaycastingScene(nthreads=self.nthreads)
                        scene.add_triangles(self._o3d.core.Tensor(vertices[t]), prep.faces_t)
                    hits = self._cast(scene, rays, depth[t, v], prep, shade, need_normals)
                if hits is None or len(hits.pix) == 0:
                    continue
                n_hit = self._hit_normals(hits, vertex_n) if need_normals else None
                if normals is not None:
                    _scatter(normals[t, v], hits.pix, n_hit)
                if texture is not None:
                    _scatter(texture[t, v], hits.pix, _shade(prep, hits, n_hit))
        mask = np.isfinite(depth)
        depth[~mask] = np.nan  # Open3D reports misses as inf
        return Rendered(depth=depth, texture=texture, normals=normals, mask=mask, view_names=rig.names)

    def _cast(self, scene: Any, view: _ViewRays, depth: np.ndarray, prep: _Prepared, shade: bool, need_normals: bool) -> _Hits | None:
        """Cast the view's rays, write ``depth`` (H, W) and return the hits (None when no shading is wanted)."""
        result = scene.cast_rays(view.tensor, nthreads=self.nthreads)
        t_hit = result["t_hit"].numpy()
        depth[...] = t_hit
        if not shade:
            return None
        pix = np.flatnonzero(np.isfinite(t_hit))
        prim = result["primitive_ids"].numpy().reshape(-1).take(pix).astype(np.intp)
        bary = result["primitive_uvs"].numpy().reshape(-1)
        pix2 = 2 * pix
        hits = _make_hits(pix, prim, bary.take(pix2), bary.take(pix2 + 1), view, prep, need_normals)
        if need_normals:  # Embree's own unit geometric normals of the hit triangles
            geo = result["primitive_normals"].numpy().reshape(-1)
            pix3 = 3 * pix
            hits.face_n = (geo.take(pix3), geo.take(pix3 + 1), geo.take(pix3 + 2))
        return hits

    def _hit_normals(self, hits: _Hits, vertex_n: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, ...]:
        """x, y, z (P,) unit normals at the hits, turned towards the camera."""
        # The side seen is decided by the geometric normal: an interpolated normal can lean away
        # from the camera near silhouettes although the camera sees the face's front.
        fn, d = hits.face_n, hits.dirs
        facing = np.where(fn[0] * d[0] + fn[1] * d[1] + fn[2] * d[2] > 0, np.float32(-1.0), np.float32(1.0))
        if vertex_n is None:
            return tuple(c * facing for c in fn)
        n = [_mix(c, hits.corners, hits.weights) for c in vertex_n]
        length = np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])
        degenerate = np.flatnonzero(length < 1e-6)
        length[degenerate] = 1.0
        for k in range(3):
            n[k] /= length
            n[k][degenerate] = fn[k][degenerate]
            n[k] *= facing
        return tuple(n)


def _make_hits(pix: np.ndarray, prim: np.ndarray, w1: np.ndarray, w2: np.ndarray, view: _ViewRays, prep: _Prepared,
               need_normals: bool, face_n: tuple[np.ndarray, ...] | None = None) -> _Hits:
    """The hits of one view from hit pixels, triangles and the weights of corners 2 and 3.

    ``face_n``: the frame's unnormalised face normals (rasterised hits); the hit triangles' ones
    are taken and made unit length (Embree's geometric normal (p1 - p0) x (p2 - p0)). Ray-cast hits
    set Embree's own afterwards.
    """
    corners = tuple(ids.take(prim) for ids in prep.corner_ids)
    w0 = np.float32(1.0) - w1
    w0 -= w2
    if not need_normals:
        return _Hits(pix, corners, (w0, w1, w2), None, None)
    dirs = tuple(view.unit_dirs[:, 0]) if view.unit_dirs.shape[1] == 1 else tuple(c.take(pix) for c in view.unit_dirs)
    hit_n = None
    if face_n is not None:
        hit_n = tuple(c.take(prim) for c in face_n)
        length = np.sqrt(hit_n[0] * hit_n[0] + hit_n[1] * hit_n[1] + hit_n[2] * hit_n[2])
        np.maximum(length, np.float32(1e-30), out=length)
        for c in hit_n:
            c /= length
    return _Hits(pix, corners, (w0, w1, w2), hit_n, dirs)


def _scatter(image: np.ndarray, pix: np.ndarray, channels: Sequence[np.ndarray]) -> None:
    """Write (P,) channel values at flat pixels ``pix`` of an (H, W, C) image."""
    flat = image.reshape(-1, image.shape[-1])
    for c, values in enumerate(channels):
        flat[:, c][pix] = values


def _shade(prep: _Prepared, hits: _Hits, n_hit: tuple[np.ndarray, ...] | None) -> Sequence[np.ndarray]:
    """RGB in [0, 1] at the hits, as three (P,) float32 channels."""
    if prep.uvs is not None:
        u, v = (_mix(c, hits.corners, hits.weights) for c in prep.uvs)
        return _sample_texture(prep.texture, prep.tex_hw, u, v)
    if prep.colors is not None:
        return [_mix(c, hits.corners, hits.weights) for c in prep.colors]
    d = hits.dirs
    gray = np.abs(n_hit[0] * d[0] + n_hit[1] * d[1] + n_hit[2] * d[2])
    return (gray, gray, gray)

