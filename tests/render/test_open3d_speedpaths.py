"""The open3d renderer's vectorised shading pinned to a plain, row-wise float64 reference.

The backend shades per coordinate with 1-D gathers for speed (see mer4d/render/open3d_backend.py);
the reference below casts one ray per pixel through Open3D and interpolates with fancy indexing,
np.add.at vertex normals and a textbook bilinear lookup, so any slip in the fast path (a swapped
corner, a wrong texel index, an unflipped normal) shows up as a difference above float tolerance.
"""

import numpy as np
import pytest

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.render import Rig, View
from mer4d.render.rig import view_rays

o3d = pytest.importorskip("open3d")

from mer4d.render.open3d_backend import Open3DRenderer, vertex_normals  # noqa: E402

TOL = 1e-4


def height_field(grid: int = 40, frames: int = 3, seed: int = 0) -> MeshSeq:
    """A bumpy textured patch (grid x grid vertices) with a different bulge every frame."""
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.linspace(100, -100, grid), np.linspace(-80, 80, grid), indexing="ij")
    z = 70 * np.sqrt(np.clip(1 - (xs / 85) ** 2 - (ys / 110) ** 2, 0, None)) + 25 * np.exp(-(xs**2 + (ys - 5) ** 2) / 400) + rng.normal(0, 0.5, xs.shape)
    bulge = np.exp(-(xs**2 + (ys + 45) ** 2) / 1250).reshape(-1)
    base = np.stack([xs, ys, z], -1).reshape(-1, 3)
    verts = np.stack([base + np.outer(6 * k * bulge, [0, 0, 1]) for k in range(frames)])
    idx = np.arange(grid * grid).reshape(grid, grid)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])
    uvs = np.stack([(xs + 80) / 160, (ys + 100) / 200], -1).reshape(-1, 2)
    tex = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)  # odd sizes, random texels: every index slip shows
    return MeshSeq(verts.astype(np.float32), faces, fps=30.0, uvs=uvs.astype(np.float32), texture=tex)


def closed_sphere(n_lat: int = 24, n_lon: int = 48, radius: float = 80.0) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 1, 0]], ring, [[0, -1, 0]]]) * radius
    idx = 1 + np.arange((n_lat - 1) * n_lon).reshape(n_lat - 1, n_lon)
    nxt = np.roll(idx, -1, axis=1)
    quads = np.concatenate([np.stack([idx[:-1], idx[1:], nxt[:-1]], -1).reshape(-1, 3), np.stack([nxt[:-1], idx[1:], nxt[1:]], -1).reshape(-1, 3)])
    south = len(verts) - 1
    fans = np.concatenate([np.stack([np.zeros(n_lon, int), idx[0], nxt[0]], 1), np.stack([np.full(n_lon, south), nxt[-1], idx[-1]], 1)])
    faces = np.concatenate([quads, fans])
    p = verts[faces]
    inward = np.einsum("fc,fc->f", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p.mean(1)) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return verts.astype(np.float32), faces


def reference_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    v = verts.astype(np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    length = np.linalg.norm(vn, axis=1, keepdims=True)
    return np.divide(vn, length, out=np.zeros_like(vn), where=length > 0)


def reference_bilinear(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    h, w = tex.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip((1 - uv[:, 1]) * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = (1 - fx) * tex[y0, x0] + fx * tex[y0, x1]
    bottom = (1 - fx) * tex[y1, x0] + fx * tex[y1, x1]
    return (1 - fy) * top + fy * bottom


def reference_render(mesh: Mesh | MeshSeq, rig: Rig, smooth: bool = True) -> dict[str, np.ndarray]:
    """Depth, texture and normals (T, V, H, W[, 3]) the plain way."""
    frames = mesh.vertices[None] if isinstance(mesh, Mesh) else mesh.vertices
    faces = np.asarray(mesh.faces, dtype=np.int64)
    origins, dirs = (np.stack(a) for a in zip(*(view_rays(v) for v in rig.views), strict=True))
    rays = o3d.core.Tensor(np.concatenate([origins, dirs], -1).astype(np.float32))
    unit = (dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)).astype(np.float64)
    shape = (len(frames), len(rig), rig.height, rig.width)
    out = {"depth": np.full(shape, np.nan), "texture": np.zeros((*shape, 3)), "normals": np.zeros((*shape, 3))}
    for t, verts in enumerate(frames):
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(verts, dtype=np.float32)), o3d.core.Tensor(faces.astype(np.uint32)))
        hits = {k: v.numpy() for k, v in scene.cast_rays(rays).items()}
        hit = np.isfinite(hits["t_hit"])
        out["depth"][t][hit] = hits["t_hit"][hit]
        corners = faces[hits["primitive_ids"][hit].astype(np.int64)]
        bu, bv = hits["primitive_uvs"][hit].astype(np.float64).T
        w = np.stack([1 - bu - bv, bu, bv], 1)
        face_n = hits["primitive_normals"][hit].astype(np.float64)
        d = unit[hit]
        facing = np.where((face_n * d).sum(1) > 0, -1.0, 1.0)[:, None]
        if smooth:
            vn = reference_normals(verts, faces)
            n = sum(w[:, k : k + 1] * vn[corners[:, k]] for k in range(3))
            length = np.linalg.norm(n, axis=1, keepdims=True)
            n = np.where(length < 1e-6, face_n, n / np.maximum(length, 1e-30))
        else:
            n = face_n
        n = n * facing
        out["normals"][t][hit] = n
        if mesh.uvs is not None and mesh.texture is not None:
            uv = sum(w[:, k : k + 1] * mesh.uvs[corners[:, k]].astype(np.float64) for k in range(3))
            out["texture"][t][hit] = reference_bilinear(np.asarray(mesh.texture, np.float64) / 255, uv)
        elif mesh.colors is not None:
            out["texture"][t][hit] = sum(w[:, k : k + 1] * (mesh.colors[corners[:, k]] / 255.0) for k in range(3))
        else:
            out["texture"][t][hit] = np.abs((n * d).sum(1, keepdims=True))
    return out


def assert_matches_reference(got, ref) -> None:
    np.testing.assert_array_equal(got.mask, np.isfinite(ref["depth"]))
    # The renderer finds its hits by rasterising (mer4d/render/raster.py), the reference by Embree:
    # the same pixels, depths equal up to float32 rounding of two formulas (~1 micrometre at 600 mm).
    np.testing.assert_allclose(got.depth, ref["depth"], rtol=1e-6, atol=5e-3)
    for field in ("texture", "normals"):
        value = getattr(got, field)
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, ref[field], atol=TOL, err_msg=field)
    assert got.mask.any()


ORTHO3 = Rig.three_views(30.0, size=48)
PINHOLE = Rig((View("pin", projection="pinhole", yaw_deg=-20, pitch_deg=10, fov_deg=40, width=40, height=36),))
# Seen from behind, the open patch shows its back faces: normals must be flipped to the camera.
BEHIND = Rig((View("back", yaw_deg=170, width=40, height=40), View("back_pin", projection="pinhole", yaw_deg=200, pitch_deg=-10, width=40, height=40)))


@pytest.mark.parametrize("rig", [ORTHO3, PINHOLE, BEHIND], ids=["ortho3", "pinhole", "behind"])
@pytest.mark.parametrize("smooth", [True, False], ids=["smooth", "flat"])
def test_textured_sequence_matches_reference(rig, smooth):
    seq = height_field()
    got = Open3DRenderer(smooth_normals=smooth).render(seq, rig)
    assert_matches_reference(got, reference_render(seq, rig, smooth))


def test_vertex_colours_and_headlight_gray_match_reference():
    verts, faces = closed_sphere()
    colors = ((verts - verts.min(0)) / np.ptp(verts, 0) * 255).astype(np.uint8)
    renderer = Open3DRenderer()
    for mesh in (Mesh(verts, faces, colors=colors), Mesh(verts, faces)):
        for rig in (ORTHO3, PINHOLE):
            assert_matches_reference(renderer.render(mesh, rig), reference_render(mesh, rig))


def test_zero_vertex_normals_fall_back_to_the_face_normal():
    # A double-sided sheet: every vertex sees two opposite faces, so its smooth normal is zero.
    verts = np.array([[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]], np.float32)
    front = np.array([[0, 1, 2], [0, 2, 3]])
    sheet = Mesh(verts, np.concatenate([front, front[:, ::-1]]))
    rig = Rig((View("front", extent_mm=120, width=24, height=24), View("back", yaw_deg=180, extent_mm=120, width=24, height=24)))
    got = Open3DRenderer().render(sheet, rig)
    assert_matches_reference(got, reference_render(sheet, rig))
    np.testing.assert_allclose(got.normals[0, 0][got.mask[0, 0]], np.tile([0, 0, 1], (got.mask[0, 0].sum(), 1)), atol=1e-6)
    np.testing.assert_allclose(got.normals[0, 1][got.mask[0, 1]], np.tile([0, 0, -1], (got.mask[0, 1].sum(), 1)), atol=1e-6)


def test_domain_subsets_and_per_frame_calls_give_the_same_pixels():
    seq = height_field(frames=2)
    renderer = Open3DRenderer()
    full = renderer.render(seq, ORTHO3)
    for domains in (("depth",), ("texture",), ("normals",), ("depth", "texture")):
        part = renderer.render(seq, ORTHO3, domains)
        np.testing.assert_array_equal(part.depth, full.depth)
        for field in ("texture", "normals"):
            value = getattr(part, field)
            assert (value is None) == (field not in domains)
            if value is not None:
                np.testing.assert_array_equal(value, getattr(full, field))
    for t in range(len(seq)):
        alone = renderer.render(seq.frame(t), ORTHO3)
        for field in ("depth", "texture", "normals", "mask"):
            np.testing.assert_array_equal(getattr(alone, field)[0], getattr(full, field)[t])


def test_vertex_normals_match_scatter_add_reference():
    seq = height_field(grid=17, frames=1)
    verts, faces = seq.vertices[0], np.asarray(seq.faces)
    got = vertex_normals(verts, faces)
    assert got.dtype == np.float32 and got.shape == verts.shape
    np.testing.assert_allclose(got, reference_normals(verts, faces), atol=1e-5)
    # A vertex used by no face keeps a zero normal.
    extra = np.concatenate([verts, [[0, 0, 500]]]).astype(np.float32)
    assert (vertex_normals(extra, faces)[-1] == 0).all()
