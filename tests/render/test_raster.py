"""The numpy rasteriser finds the ray caster's hits (the default way the CPU renderer finds them)."""

import numpy as np
import pytest
import trimesh
from conftest import REPO

from mer4d.core.containers import Mesh
from mer4d.core.errors import DataError
from mer4d.render import Rig, View
from mer4d.render import raster as raster_module
from mer4d.render.open3d_backend import Open3DRenderer
from mer4d.render.raster import rasterize
from mer4d.render.rig import view_rays


def _face_patch():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_render", REPO / "tools" / "bench_render.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.face_patch(grid=64, frames=2, tex_size=64)


def _sphere(subdivisions: int) -> Mesh:
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=80.0)
    return Mesh(np.asarray(s.vertices, np.float32), np.asarray(s.faces, np.int64))


def _same_render(mesh, rig):
    cast = Open3DRenderer(hits="raycast").render(mesh, rig)
    drawn = Open3DRenderer(hits="raster").render(mesh, rig)
    np.testing.assert_array_equal(drawn.mask, cast.mask)
    both = cast.mask
    np.testing.assert_allclose(drawn.depth[both], cast.depth[both], atol=5e-3)  # mm, float32 round-off at ~600 mm
    np.testing.assert_allclose(drawn.normals[both], cast.normals[both], atol=2e-3)
    if cast.texture is not None:
        np.testing.assert_allclose(drawn.texture[both], cast.texture[both], atol=2e-3)
    return drawn


@pytest.mark.parametrize("projection", ["orthographic", "pinhole"])
def test_textured_face_patch_renders_like_the_ray_caster(projection):
    out = _same_render(_face_patch(), Rig.three_views(size=96, projection=projection))
    assert out.mask.mean() > 0.2  # the patch fills a good part of every view


@pytest.mark.parametrize("subdivisions", [1, 4])  # a few large triangles, many small ones
@pytest.mark.parametrize("projection", ["orthographic", "pinhole"])
def test_closed_spheres_render_like_the_ray_caster(subdivisions, projection):
    _same_render(_sphere(subdivisions), Rig.three_views(size=64, projection=projection))


def test_a_tilted_plane_has_the_analytic_depth_and_weights_in_a_pinhole_view():
    # The plane z = 0.3 x through two triangles; pinhole camera at z = 600 looking down -Z.
    verts = np.array([[-100, -100, -30], [100, -100, 30], [100, 100, 30], [-100, 100, -30]], np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    view = View(name="front", projection="pinhole", fov_deg=40.0, width=48, height=40)
    hits = rasterize(view, tuple(np.ascontiguousarray(verts.T)), tuple(faces.T))
    origins, dirs = view_rays(view)
    o, d = origins.reshape(-1, 3)[hits.pix].astype(np.float64), dirs.reshape(-1, 3)[hits.pix].astype(np.float64)
    t = (0.3 * o[:, 0] - o[:, 2]) / (d[:, 2] - 0.3 * d[:, 0])  # ray meets z = 0.3 x; forward component of d is 1
    np.testing.assert_allclose(hits.depth[hits.pix], t, rtol=1e-5)
    point = o + t[:, None] * d
    corners = verts[faces[hits.prim]].astype(np.float64)
    rebuilt = (1 - hits.w1 - hits.w2)[:, None] * corners[:, 0] + hits.w1[:, None] * corners[:, 1] + hits.w2[:, None] * corners[:, 2]
    np.testing.assert_allclose(rebuilt, point, atol=1e-3)  # perspective-correct weights give the 3D hit point


def test_batches_of_triangles_give_the_same_hits(monkeypatch):
    mesh = _sphere(3)
    view = View(name="front", width=64, height=64)
    xyz = tuple(np.ascontiguousarray(mesh.vertices.T))
    whole = rasterize(view, xyz, tuple(mesh.faces.T))
    monkeypatch.setattr(raster_module, "_MAX_CANDIDATES", 50)
    split = rasterize(view, xyz, tuple(mesh.faces.T))
    np.testing.assert_array_equal(split.pix, whole.pix)
    np.testing.assert_array_equal(split.depth, whole.depth)


def test_a_pinhole_camera_inside_the_mesh_falls_back_to_ray_casting(monkeypatch):
    mesh = _sphere(2)
    inside = View(name="in", projection="pinhole", distance_mm=10.0, width=32, height=32)
    assert rasterize(inside, tuple(np.ascontiguousarray(mesh.vertices.T)), tuple(mesh.faces.T)) is None
    outside = View(name="out", projection="pinhole", width=32, height=32)
    renderer = Open3DRenderer(hits="raster")
    scenes = []
    real_scene = renderer._o3d.t.geometry.RaycastingScene

    class CountingScene:  # open3d's class cannot be patched in place: count through a wrapper
        def __new__(cls, *args, **kwargs):
            scenes.append(1)
            return real_scene(*args, **kwargs)

    from mer4d.render import open3d_backend

    drawn = []
    monkeypatch.setattr(renderer._o3d.t.geometry, "RaycastingScene", CountingScene)
    monkeypatch.setattr(open3d_backend, "rasterize", lambda *a: drawn.append(rasterize(*a)) or drawn[-1])
    got = renderer.render(mesh, Rig((inside, outside)))
    assert [d is None for d in drawn] == [True, False]  # the inside view could not be rasterised, the outside one was
    assert len(scenes) == 1  # so the frame built one Embree scene, for the inside view
    monkeypatch.undo()
    cast = Open3DRenderer(hits="raycast").render(mesh, Rig((inside, outside)))
    np.testing.assert_array_equal(got.mask, cast.mask)
    np.testing.assert_allclose(got.depth[cast.mask], cast.depth[cast.mask], atol=5e-3)
    _same_render(mesh, Rig((View(name="in", distance_mm=10.0, width=32, height=32),)))  # orthographic: clipped exactly


def test_unknown_hit_method_is_refused():
    with pytest.raises(DataError, match="hits must be one of"):
        Open3DRenderer(hits="zbuffer")
