"""The open3d ray caster against analytic scenes: spheres, a textured plane, a coloured triangle."""

import numpy as np
import pytest

from mer4d.core import DataError
from mer4d.core.containers import Mesh, MeshSeq
from mer4d.render import Renderer, Rig, View, camera_frame, get_renderer, project

pytest.importorskip("open3d")

from mer4d.render.open3d_backend import Open3DRenderer, vertex_normals  # noqa: E402

R = 80.0  # sphere radius, mm


def uv_sphere(radius: float = R, n_lat: int = 128, n_lon: int = 256, centre=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude sphere; faces wound counter-clockwise seen from outside."""
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 1, 0]], ring, [[0, -1, 0]]]) * radius + np.asarray(centre)
    idx = 1 + np.arange((n_lat - 1) * n_lon).reshape(n_lat - 1, n_lon)
    nxt = np.roll(idx, -1, axis=1)
    a, b, c, d = idx[:-1], nxt[:-1], idx[1:], nxt[1:]
    quads = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    south = len(verts) - 1
    fans = np.concatenate([np.stack([np.zeros(n_lon, int), idx[0], nxt[0]], 1), np.stack([np.full(n_lon, south), nxt[-1], idx[-1]], 1)])
    faces = np.concatenate([quads, fans])
    # Fix the winding from the geometry so the helper cannot silently produce inward faces.
    p = verts[faces]
    outward = np.einsum("fc,fc->f", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p.mean(1) - np.asarray(centre)) > 0
    faces[~outward] = faces[~outward][:, [0, 2, 1]]
    return verts.astype(np.float32), faces.astype(np.int64)


@pytest.fixture(scope="module")
def renderer() -> Open3DRenderer:
    return get_renderer("open3d")


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    return Mesh(*uv_sphere())


def pixel_points(view: View, depth: float = 0.0) -> np.ndarray:
    """(H, W, 3) world points of the pixel centres on the plane through the target facing the camera."""
    eye, rot = camera_frame(view)
    rows, cols = np.mgrid[0 : view.height, 0 : view.width]
    s = view.pixel_mm
    x, y = (cols - (view.width - 1) / 2) * s, -(rows - (view.height - 1) / 2) * s
    return np.asarray(view.target) + x[..., None] * rot[0] + y[..., None] * rot[1] + depth * rot[2]


def test_is_a_renderer(renderer):
    assert isinstance(renderer, Renderer) and renderer.name == "open3d"
    assert isinstance(get_renderer("auto"), Open3DRenderer)


def test_orthographic_sphere_depth_mask_and_normals(renderer, sphere):
    view = View("front", width=224, height=224, extent_mm=220, distance_mm=600)
    out = renderer.render(sphere, Rig((view,)))
    assert out.depth.shape == (1, 1, 224, 224) and out.texture.shape == out.normals.shape == (1, 1, 224, 224, 3)
    depth, mask, normals = out.depth[0, 0], out.mask[0, 0], out.normals[0, 0]
    assert depth.dtype == np.float32 and out.texture.dtype == np.float32 and normals.dtype == np.float32
    assert abs(depth[111, 111] - (600 - R)) < 0.5 and abs(depth[112, 112] - (600 - R)) < 0.5
    radius_px = R / view.pixel_mm
    assert abs(mask.sum() / (np.pi * radius_px**2) - 1) < 0.02
    assert np.isnan(depth[~mask]).all() and np.isfinite(depth[mask]).all()
    # Interior depth and normals follow the analytic sphere.
    pts = pixel_points(view)
    rho = np.hypot(pts[..., 0], pts[..., 1])
    inner = rho < 0.95 * R
    z = np.sqrt(np.clip(R**2 - rho**2, 0, None))
    np.testing.assert_allclose(depth[inner], (600 - z)[inner], atol=0.5)
    analytic_n = np.concatenate([pts[..., :2], z[..., None]], -1) / R
    assert np.abs(normals[inner] - analytic_n[inner]).max() < 0.02
    np.testing.assert_allclose(normals[111, 111], [0, 0, 1], atol=0.01)
    np.testing.assert_allclose(np.linalg.norm(normals[mask], axis=-1), 1, atol=1e-4)
    assert (normals[~mask] == 0).all() and (out.texture[0, 0][~mask] == 0).all()
    # The outermost pixels of each silhouette row see the sphere nearly edge-on.
    rim_cols = [np.flatnonzero(mask[r])[[0, -1]] for r in range(60, 164)]
    rim = np.array([normals[r, c] for r, cs in zip(range(60, 164), rim_cols, strict=True) for c in cs])
    assert np.abs(rim[:, 2]).max() < 0.35
    right_rim = normals[111, np.flatnonzero(mask[111])[-1]]
    assert right_rim[0] > 0.95  # +X (subject's left) is on the image right


def test_untextured_mesh_gets_headlight_gray(renderer, sphere):
    tex = renderer.render(sphere, Rig.front(size=64)).texture[0, 0]
    assert tex[32, 32] == pytest.approx([1, 1, 1], abs=0.01)
    assert (tex[..., 0] == tex[..., 2]).all() and tex.max() <= 1.0


def test_pinhole_sphere_depth_and_silhouette(renderer, sphere):
    view = View("front", projection="pinhole", fov_deg=30, distance_mm=600, width=224, height=224)
    out = renderer.render(sphere, Rig((view,)), domains=("depth",))
    assert out.texture is None and out.normals is None
    depth, mask = out.depth[0, 0], out.mask[0, 0]
    assert abs(depth[111, 111] - (600 - R)) < 0.5
    # A sphere seen on-axis is a disc of angular radius asin(R / d).
    radius_px = view.focal_px * np.tan(np.arcsin(R / 600))
    assert abs(mask.sum() / (np.pi * radius_px**2) - 1) < 0.02
    cols = np.flatnonzero(mask[111])
    assert abs((cols[-1] - cols[0] + 1) / 2 - radius_px) < 1.0


def quadrant_plane() -> Mesh:
    verts = np.array([[-50, -50, 0], [50, -50, 0], [50, 50, 0], [-50, 50, 0]], np.float32)
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    tex = np.zeros((64, 64, 3), np.uint8)
    tex[:32, :32] = (255, 0, 0)  # top-left red
    tex[:32, 32:] = (0, 255, 0)  # top-right green
    tex[32:, :32] = (0, 0, 255)  # bottom-left blue
    tex[32:, 32:] = (255, 255, 255)  # bottom-right white
    return Mesh(verts, np.array([[0, 1, 2], [0, 2, 3]]), uvs=uvs, texture=tex)


def test_texture_is_neither_flipped_nor_mirrored(renderer):
    plane = quadrant_plane()
    out = renderer.render(plane, Rig((View("front", extent_mm=100, width=50, height=50), View("back", yaw_deg=180, extent_mm=100, width=50, height=50))))
    front, back = out.texture[0]
    np.testing.assert_allclose(front[0, 0], [1, 0, 0])
    np.testing.assert_allclose(front[0, -1], [0, 1, 0])
    np.testing.assert_allclose(front[-1, 0], [0, 0, 1])
    np.testing.assert_allclose(front[-1, -1], [1, 1, 1])
    # From behind, the texture appears mirrored left-right, and the normals turn to the camera.
    np.testing.assert_allclose(back[0, 0], [0, 1, 0])
    np.testing.assert_allclose(out.normals[0, 0, 25, 25], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(out.normals[0, 1, 25, 25], [0, 0, -1], atol=1e-6)
    assert out.mask.all() and np.allclose(out.depth, 600, atol=1e-3)


def test_texture_colours_match_the_uv_lookup(renderer):
    # A texture linear in the texel index, so bilinear sampling is exact wherever it is not clamped.
    rows, cols = np.mgrid[0:128, 0:256]
    tex = np.stack([cols, 2 * rows, np.full_like(cols, 77)], -1).astype(np.uint8)
    plane = quadrant_plane()
    plane = Mesh(plane.vertices, plane.faces, uvs=plane.uvs, texture=tex)
    view = View("front", extent_mm=100, width=37, height=37)
    got = renderer.render(plane, Rig((view,)), domains=("texture",)).texture[0, 0]
    pts = pixel_points(view)
    u, v = (pts[..., 0] + 50) / 100, (pts[..., 1] + 50) / 100
    expected = np.stack([np.clip(u * 256 - 0.5, 0, 255), 2 * np.clip((1 - v) * 128 - 0.5, 0, 127), np.full_like(u, 77)], -1) / 255
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_vertex_colours_are_the_barycentric_mix(renderer):
    verts = np.array([[-40, -30, 0], [40, -30, 0], [0, 40, 0]], np.float32)
    colors = np.array([[200, 10, 30], [0, 255, 0], [20, 40, 250]], np.uint8)
    view = View("front", extent_mm=100, width=64, height=64)
    out = renderer.render(Mesh(verts, np.array([[0, 1, 2]]), colors=colors), Rig((view,)))
    pts = pixel_points(view)[..., :2].reshape(-1, 2)
    # Barycentric coordinates of each pixel centre: solve [a b c; 1 1 1] w = [x; y; 1].
    system = np.vstack([verts[:, :2].T, np.ones(3)])
    w = np.linalg.solve(system, np.vstack([pts.T, np.ones(len(pts))])).T
    inside = (w > 1e-3).all(1).reshape(64, 64)
    outside = (w < -1e-3).any(1).reshape(64, 64)
    mask = out.mask[0, 0]
    assert mask[inside].all() and not mask[outside].any()
    expected = (w @ (colors / 255.0)).reshape(64, 64, 3)
    np.testing.assert_allclose(out.texture[0, 0][mask], expected[mask], atol=1e-4)


def marked_sphere() -> Mesh:
    verts, faces = uv_sphere(n_lat=64, n_lon=128)
    colors = np.full(verts.shape, 255, np.uint8)
    colors[verts[:, 0] > 0.9 * R] = (255, 0, 0)  # a red cap on the subject's left (+X)
    return Mesh(verts, faces, colors=colors)


def test_left_view_sees_the_left_cheek_and_right_view_does_not(renderer):
    out = renderer.render(marked_sphere(), Rig.three_views(yaw_deg=30, size=96), domains=("texture",))
    red = (out.texture[0, ..., 1] < 0.5) & out.mask[0]
    left, front, right = (red[out.view_index(n)] for n in ("left", "front", "right"))
    assert left.sum() > 50 and right.sum() == 0
    assert np.flatnonzero(left.any(0)).mean() > 48  # the left cheek shows on the image right
    assert np.flatnonzero(front.any(0)).min() > np.flatnonzero(left.any(0)).min()  # and is more central in the left view


def test_meshseq_equals_rendering_each_frame_alone(renderer):
    verts, faces = uv_sphere(n_lat=48, n_lon=96)
    colors = ((verts - verts.min(0)) / np.ptp(verts, 0) * 255).astype(np.uint8)
    shifts = np.array([[0, 0, 0], [10, -5, 20], [-15, 8, -30]], np.float32)
    seq = MeshSeq(verts[None] + shifts[:, None], faces, fps=30.0, colors=colors)
    rig = Rig.three_views(size=48)
    batch = renderer.render(seq, rig)
    assert batch.depth.shape == (3, 3, 48, 48) and batch.view_names == ("left", "front", "right")
    for t in range(len(seq)):
        alone = renderer.render(seq.frame(t), rig)
        for field in ("depth", "texture", "normals", "mask"):
            np.testing.assert_array_equal(getattr(batch, field)[t], getattr(alone, field)[0])
    front = batch.view_index("front")
    for t, shift in enumerate(shifts):
        uv, _ = project(rig.views[front], shift[None])
        col, row = np.round(uv[0]).astype(int)
        assert batch.depth[t, front, row, col] == pytest.approx(600 - shift[2] - R, abs=0.5)


@pytest.mark.parametrize("view", [View("left", yaw_deg=30, pitch_deg=10), View("pin", projection="pinhole", yaw_deg=-20, fov_deg=40)])
def test_project_agrees_with_rendered_depth(renderer, sphere, view):
    out = renderer.render(sphere, Rig((view,)), domains=("depth",))
    uv, z = project(view, np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(uv[0], [111.5, 111.5], atol=1e-3)
    _, rot = camera_frame(view)
    normals = sphere.vertices / R
    visible = normals @ -rot[2] > 0.7
    uv, z = project(view, sphere.vertices[visible])
    cols, rows = np.round(uv).astype(int).T
    rendered = out.depth[0, 0, rows, cols]
    assert np.isfinite(rendered).all() and out.mask[0, 0, rows, cols].all()
    # Rounding to a pixel moves up to 0.71 px across a surface sloping at most tan(acos(0.7)) = 1.02.
    footprint = view.pixel_mm if view.projection == "orthographic" else z / view.focal_px
    assert (np.abs(rendered - z) < 0.8 * footprint).all()


def test_flat_normals_and_vertex_normals():
    plane = quadrant_plane()
    out = Open3DRenderer(smooth_normals=False).render(plane, Rig.front(size=16, extent_mm=100), domains=("normals",))
    np.testing.assert_allclose(out.normals[0, 0].reshape(-1, 3), np.tile([0, 0, 1], (256, 1)), atol=1e-6)
    verts, faces = uv_sphere(n_lat=16, n_lon=32)
    n = vertex_normals(verts, faces)
    np.testing.assert_allclose(np.einsum("nc,nc->n", n, verts / R), 1, atol=0.02)


def test_mesh_outside_the_view_renders_empty(renderer):
    far = Mesh(*uv_sphere(radius=10, n_lat=8, n_lon=16, centre=(500, 0, 0)))
    out = renderer.render(far, Rig.front(size=32))
    assert not out.mask.any() and np.isnan(out.depth).all() and (out.normals == 0).all()


def test_bad_inputs_raise(renderer):
    verts, faces = uv_sphere(n_lat=8, n_lon=16)
    with pytest.raises(DataError, match=r"face indices must lie in \[0, "):
        renderer.render(Mesh(verts, faces + 1000), Rig.front(size=8))
    bad = verts.copy()
    bad[3] = np.nan
    with pytest.raises(DataError, match="NaN or inf in frame"):
        renderer.render(Mesh(bad, faces), Rig.front(size=8))
    with pytest.raises(DataError, match="expected a mer4d Mesh or MeshSeq"):
        renderer.render(verts, Rig.front(size=8))
    with pytest.raises(DataError, match="rig must be a mer4d.render.Rig"):
        renderer.render(Mesh(verts, faces), View("front"))


def test_topology_cache_follows_the_mesh(renderer):
    verts, faces = uv_sphere(n_lat=16, n_lon=32)
    rig = Rig.front(size=32)
    first = renderer.render(Mesh(verts, faces), rig)
    # Same faces array, different vertex count: the cached range check must not be reused.
    with pytest.raises(DataError, match="face indices"):
        renderer.render(Mesh(verts[:10], faces), rig)
    # Same topology, new colours: the cached appearance must not be reused.
    red = np.tile(np.array([[255, 0, 0]], np.uint8), (len(verts), 1))
    again = renderer.render(Mesh(verts, faces, colors=red), rig)
    np.testing.assert_array_equal(again.depth, first.depth)
    np.testing.assert_allclose(again.texture[again.mask], np.tile([1.0, 0, 0], (again.mask.sum(), 1)), atol=1e-6)
