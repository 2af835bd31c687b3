"""Backend selection and the PyTorch3D camera mapping, checked without PyTorch3D.

* ``get_renderer``: the install hint when pytorch3d is absent, and the "auto" rule.
* :func:`pytorch3d_extrinsics` / :func:`ndc_intrinsics` against :func:`mer4d.render.project`,
  projecting by hand with the matrices PyTorch3D documents for its NDC cameras and mapping NDC to
  pixels with the rasteriser's pixel-centre rule.
* The whole backend against the open3d backend, with a small stand-in for the part of the
  PyTorch3D API it uses (Meshes, NDC cameras, RasterizationSettings, MeshRasterizer) written
  from PyTorch3D's documented semantics; the real-library parity test is
  tests/render/test_pytorch3d_parity.py (needs pytorch3d).
"""

from __future__ import annotations

import sys
import types
from typing import NamedTuple

import numpy as np
import pytest
import torch

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import MissingDependencyError, UnknownNameError
from mer4d.render import Renderer, Rig, View, get_renderer, project
from mer4d.render.pytorch3d_backend import PyTorch3DRenderer, ndc_intrinsics, pytorch3d_extrinsics, to_view_space

VIEWS = [
    View("front"),
    View("left", yaw_deg=30.0, pitch_deg=10.0, extent_mm=180.0, distance_mm=450.0, target=(5.0, -10.0, 20.0)),
    View("wide", yaw_deg=-30.0, width=96, height=64, extent_mm=250.0),
    View("tall", pitch_deg=-20.0, width=48, height=80),
    View("pin", projection="pinhole"),
    View("pin_side", projection="pinhole", yaw_deg=30.0, pitch_deg=-15.0, fov_deg=45.0, distance_mm=500.0, target=(0.0, 20.0, 30.0)),
    View("pin_wide", projection="pinhole", yaw_deg=-45.0, width=120, height=72, fov_deg=60.0),
]


def _absent(monkeypatch) -> None:
    """Make ``import pytorch3d`` fail as if it were not installed (None in sys.modules stops the import)."""
    for name in ("pytorch3d", "pytorch3d.structures", "pytorch3d.renderer"):
        monkeypatch.setitem(sys.modules, name, None)


def test_pytorch3d_backend_missing_names_the_install_doc(monkeypatch):
    _absent(monkeypatch)
    with pytest.raises(MissingDependencyError, match=r"docs/pytorch3d\.md") as info:
        get_renderer("pytorch3d")
    assert "'pytorch3d'" in str(info.value) and "conda" in str(info.value)
    with pytest.raises(MissingDependencyError, match=r"docs/pytorch3d\.md"):
        PyTorch3DRenderer(device="cpu")


def test_auto_is_open3d_without_pytorch3d(monkeypatch):
    _absent(monkeypatch)
    renderer = get_renderer("auto")
    assert isinstance(renderer, Renderer) and renderer.name == "open3d"


def test_auto_on_this_machine_is_open3d():
    if not torch.cuda.is_available():
        assert get_renderer("auto").name == "open3d"
    with pytest.raises(UnknownNameError, match="did you mean 'pytorch3d'"):
        get_renderer("pytorch3")


# -- a stand-in for the PyTorch3D API, from its documented semantics ------------------------------


class Fragments(NamedTuple):
    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: torch.Tensor


class FakeMeshes:
    """``Meshes(verts=(B, N, 3), faces=(B, F, 3))``; packed face ids are ``b * F + f``."""

    def __init__(self, verts, faces):
        assert verts.ndim == 3 and faces.ndim == 3 and len(verts) == len(faces)
        assert verts.dtype == torch.float32 and faces.dtype == torch.int64
        self.verts, self.faces = verts, faces

    def __len__(self):
        return len(self.verts)


class _FakeCameras:
    perspective = False

    def __init__(self, focal_length, principal_point, R, T, in_ndc, device):
        assert in_ndc is True
        self.focal = torch.as_tensor(focal_length, dtype=torch.float32).reshape(len(R), -1).expand(-1, 2)
        self.pp = torch.as_tensor(principal_point, dtype=torch.float32)
        self.R, self.T = R, T

    def project(self, verts):
        """World -> view (``X @ R + T``, row vectors) -> NDC, keeping the view-space z as the rasteriser does."""
        view = torch.einsum("bnc,bcd->bnd", verts, self.R) + self.T[:, None]
        xy = view[..., :2] / view[..., 2:3] if self.perspective else view[..., :2]
        return torch.cat([xy * self.focal[:, None] + self.pp[:, None], view[..., 2:3]], dim=-1)


class FakeOrthographicCameras(_FakeCameras):
    """K = [[fx, 0, 0, px], [0, fy, 0, py], [0, 0, 1, 0], [0, 0, 0, 1]]."""


class FakePerspectiveCameras(_FakeCameras):
    """K = [[fx, 0, px, 0], [0, fy, py, 0], [0, 0, 0, 1], [0, 0, 1, 0]]."""

    perspective = True


class FakeRasterizationSettings:
    def __init__(self, image_size, blur_radius=0.0, faces_per_pixel=1, bin_size=None, max_faces_per_bin=None, perspective_correct=None, cull_backfaces=False):
        assert blur_radius == 0.0 and not cull_backfaces
        self.image_size, self.faces_per_pixel, self.perspective_correct = image_size, faces_per_pixel, perspective_correct


def pix_to_ndc(i, size, other):
    """PyTorch3D's pixel centre -> NDC along one axis (the shorter image side spans [-1, 1]); ``i`` counts from +X/+Y."""
    ndc_range = 2.0 * max(size / other, 1.0)
    return -ndc_range / 2 + (ndc_range * i + ndc_range / 2) / size


class FakeMeshRasterizer:
    """Naive rasteriser: pixel (row, col) samples NDC (pix_to_ndc(W-1-col), pix_to_ndc(H-1-row)), nearest view z wins."""

    def __init__(self, cameras, raster_settings):
        self.cameras, self.settings = cameras, raster_settings

    def __call__(self, meshes):
        h, w = self.settings.image_size
        k = self.settings.faces_per_pixel
        ndc = self.cameras.project(meshes.verts)
        xs = torch.tensor([pix_to_ndc(w - 1 - c, w, h) for c in range(w)], dtype=torch.float32)
        ys = torch.tensor([pix_to_ndc(h - 1 - r, h, w) for r in range(h)], dtype=torch.float32)
        px, py = xs[None, :].expand(h, w).reshape(-1), ys[:, None].expand(h, w).reshape(-1)
        n_faces = meshes.faces.shape[1]
        pix_to_face = torch.full((len(meshes), h, w, k), -1, dtype=torch.int64)
        zbuf = torch.full((len(meshes), h, w, k), -1.0)
        bary = torch.full((len(meshes), h, w, k, 3), -1.0)
        for b in range(len(meshes)):
            best = torch.full((len(px),), torch.inf)
            face = torch.zeros(len(px), dtype=torch.int64)
            chosen = torch.zeros((len(px), 3))
            for start in range(0, n_faces, 2048):  # bounds the (faces, pixels) temporaries
                v = ndc[b][meshes.faces[b, start : start + 2048]]  # (F', 3, 3)
                x0, y0, x1, y1, x2, y2 = (v[:, i, j][:, None] for i in range(3) for j in range(2))
                area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
                w0 = ((x1 - px) * (y2 - py) - (y1 - py) * (x2 - px)) / area
                w1 = ((x2 - px) * (y0 - py) - (y2 - py) * (x0 - px)) / area
                wts = torch.stack([w0, w1, 1.0 - w0 - w1], -1)  # (F', P, 3)
                z = v[:, :, 2][:, None, :]  # (F', 1, 3)
                if self.settings.perspective_correct:
                    wts = wts / z
                    wts = wts / wts.sum(-1, keepdim=True)
                pz = (wts * z).sum(-1)
                valid = (wts > 0).all(-1) & (area != 0) & (v[:, :, 2].min(1).values[:, None] > 1e-8) & (pz >= 0)
                pz = torch.where(valid, pz, torch.inf)
                chunk_best, chunk_face = pz.min(0)
                better = chunk_best < best
                best = torch.where(better, chunk_best, best)
                face = torch.where(better, chunk_face + start, face)
                chosen = torch.where(better[:, None], wts[chunk_face, torch.arange(len(px))], chosen)
            hit = torch.isfinite(best)
            pix_to_face[b, ..., 0] = torch.where(hit, face + b * n_faces, -1).reshape(h, w)
            zbuf[b, ..., 0] = torch.where(hit, best, -1.0).reshape(h, w)
            bary[b, :, :, 0] = torch.where(hit[:, None], chosen, -1.0).reshape(h, w, 3)
        return Fragments(pix_to_face, zbuf, bary, torch.zeros_like(zbuf))


@pytest.fixture
def fake_pytorch3d(monkeypatch):
    root = types.ModuleType("pytorch3d")
    structures = types.ModuleType("pytorch3d.structures")
    renderer = types.ModuleType("pytorch3d.renderer")
    structures.Meshes = FakeMeshes
    renderer.OrthographicCameras = FakeOrthographicCameras
    renderer.PerspectiveCameras = FakePerspectiveCameras
    renderer.RasterizationSettings = FakeRasterizationSettings
    renderer.MeshRasterizer = FakeMeshRasterizer
    root.structures, root.renderer = structures, renderer
    for module in (root, structures, renderer):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return root


def test_auto_picks_pytorch3d_only_with_cuda(fake_pytorch3d, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_renderer("auto").name == "open3d"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    chosen = get_renderer("auto")
    assert isinstance(chosen, PyTorch3DRenderer) and isinstance(chosen, Renderer)
    assert chosen.name == "pytorch3d" and chosen.device.type == "cuda"
    assert get_renderer("pytorch3d").name == "pytorch3d"


def test_auto_falls_back_when_the_pytorch3d_renderer_does_not_import(fake_pytorch3d, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "pytorch3d.renderer", None)
    with pytest.warns(UserWarning, match="using open3d"):
        assert get_renderer("auto").name == "open3d"


# -- the camera mapping ---------------------------------------------------------------------------


def _points(view: View, n: int = 300) -> np.ndarray:
    """World points spread over the view's image and in front of its camera."""
    rng = np.random.default_rng(7)
    return (np.asarray(view.target) + rng.uniform(-90.0, 90.0, (n, 3))).astype(np.float64)


@pytest.mark.parametrize("view", VIEWS, ids=[v.name for v in VIEWS])
def test_extrinsics_give_pytorch3d_view_axes_and_our_depth(view):
    r, t = pytorch3d_extrinsics(view)
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)  # a rotation: PyTorch3D's view space is right-handed
    pts = _points(view)
    cam = pts @ r + t
    _, depth = project(view, pts.astype(np.float32))
    np.testing.assert_allclose(cam[:, 2], depth, rtol=1e-6, atol=1e-3)  # +Z forward = our depth
    # +X left, +Y up: a point to the image right has smaller X, a point higher up larger Y.
    uv, _ = project(view, pts.astype(np.float32))
    assert np.corrcoef(cam[:, 0], uv[:, 0])[0, 1] < -0.99 and np.corrcoef(cam[:, 1], uv[:, 1])[0, 1] < -0.99
    torch_cam = to_view_space(torch.as_tensor(pts[None]), [view, view])
    assert torch_cam.shape == (1, 2, len(pts), 3)
    np.testing.assert_allclose(torch_cam[0, 1].numpy(), cam, atol=1e-9)


@pytest.mark.parametrize("view", VIEWS, ids=[v.name for v in VIEWS])
def test_ndc_intrinsics_reproduce_project(view):
    r, t = pytorch3d_extrinsics(view)
    focal, (px, py) = ndc_intrinsics(view)
    pts = _points(view)
    x, y, z = (pts @ r + t).T
    if view.projection == "orthographic":  # x_ndc = fx X + px
        x_ndc, y_ndc = focal * x + px, focal * y + py
    else:  # x_ndc = (fx X + px Z) / Z
        x_ndc, y_ndc = (focal * x + px * z) / z, (focal * y + py * z) / z
    # pix_to_ndc is affine in the pixel index: invert it for fractional pixel coordinates.
    w, h = view.width, view.height
    a_x, b_x = pix_to_ndc(1, w, h) - pix_to_ndc(0, w, h), pix_to_ndc(0, w, h)
    a_y, b_y = pix_to_ndc(1, h, w) - pix_to_ndc(0, h, w), pix_to_ndc(0, h, w)
    col = (w - 1) - (x_ndc - b_x) / a_x  # NDC +X points left, so columns count from the other end
    row = (h - 1) - (y_ndc - b_y) / a_y
    uv, _ = project(view, pts.astype(np.float32))
    np.testing.assert_allclose(np.stack([col, row], 1), uv, atol=2e-3)
    # The image corners' pixel centres sit half a pixel inside the documented NDC extent.
    assert pix_to_ndc(0, w, h) == pytest.approx(-max(w / h, 1.0) + max(w / h, 1.0) / w)


def test_one_pixel_is_one_ndc_pixel_step():
    """The target lands on the image centre, and the focal length turns one pixel into one NDC pixel step."""
    for view in VIEWS:
        uv, _ = project(view, np.asarray([view.target], np.float32))
        np.testing.assert_allclose(uv[0], [(view.width - 1) / 2, (view.height - 1) / 2], atol=1e-3)
        focal, _ = ndc_intrinsics(view)
        step = pix_to_ndc(1, view.width, view.height) - pix_to_ndc(0, view.width, view.height)
        if view.projection == "orthographic":
            assert focal * view.pixel_mm == pytest.approx(step)  # one pixel of mm is one NDC pixel step
        else:
            assert focal / view.focal_px == pytest.approx(step)


# -- the whole backend on the stand-in, against open3d --------------------------------------------


def _sphere(colors: bool) -> Mesh:
    trimesh = pytest.importorskip("trimesh")
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=70.0)
    verts = np.asarray(sphere.vertices, np.float32) + np.float32([5.0, -3.0, 10.0])
    rgb = ((verts - verts.min(0)) / np.ptp(verts, 0) * 255).astype(np.uint8) if colors else None
    return Mesh(verts, np.asarray(sphere.faces, np.int64), colors=rgb)


def _textured_plane() -> Mesh:
    verts = np.array([[-60, -50, 0], [60, -50, 10], [60, 50, -5], [-60, 50, 0]], np.float32)
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    rows, cols = np.mgrid[0:32, 0:64]
    tex = np.stack([cols * 4, rows * 8, 255 - cols * 2], -1).astype(np.uint8)
    tex[:8, :8] = (255, 0, 0)  # a red top-left corner shows flips and mirrors
    return Mesh(verts, np.array([[0, 1, 2], [0, 2, 3]]), uvs=uvs, texture=tex)


def _compare(a, b, texture_atol=2e-3):
    mismatch = (a.mask != b.mask).mean()
    assert mismatch < 0.005, f"masks differ on {mismatch:.2%} of pixels"
    common = a.mask & b.mask
    assert common.sum() > 0.05 * common.size
    np.testing.assert_allclose(a.depth[common], b.depth[common], atol=1e-2)
    assert np.isnan(a.depth[~a.mask]).all() and (a.texture[~a.mask] == 0).all() and (a.normals[~a.mask] == 0).all()
    np.testing.assert_allclose(a.texture[common], b.texture[common], atol=texture_atol)
    np.testing.assert_allclose(a.normals[common], b.normals[common], atol=2e-3)


@pytest.mark.parametrize("make", [lambda: _sphere(False), lambda: _sphere(True), _textured_plane], ids=["bare", "colours", "texture"])
def test_backend_on_the_stand_in_matches_open3d(fake_pytorch3d, make):
    pytest.importorskip("open3d")
    mesh = make()
    size = {"width": 48, "height": 40}
    rig = Rig(
        (
            View("front", extent_mm=200.0, **size),
            View("pin_side", projection="pinhole", yaw_deg=30.0, pitch_deg=10.0, fov_deg=35.0, **size),
            View("left", yaw_deg=30.0, extent_mm=200.0, **size),
            View("back", yaw_deg=180.0, extent_mm=200.0, **size),
        )
    )
    got = PyTorch3DRenderer(device="cpu", batch_size=3).render(mesh, rig)
    ref = get_renderer("open3d").render(mesh, rig)
    assert got.depth.shape == (1, 4, 40, 48) and got.view_names == rig.names
    assert got.depth.dtype == got.texture.dtype == got.normals.dtype == np.float32 and got.mask.dtype == bool
    _compare(got, ref)


def test_meshseq_batches_like_single_frames(fake_pytorch3d):
    pytest.importorskip("open3d")
    base = _sphere(True)
    shifts = np.array([[0, 0, 0], [12, -6, 25], [-20, 9, -30]], np.float32)
    seq = MeshSeq(base.vertices[None] + shifts[:, None], base.faces, fps=30.0, colors=base.colors)
    rig = Rig((View("front", width=32, height=32), View("pin", projection="pinhole", yaw_deg=-30.0, width=32, height=32)))
    renderer = PyTorch3DRenderer(device="cpu", batch_size=4)  # chunks cut across frames and views
    batch = renderer.render(seq, rig, domains=("depth", "normals"))
    assert batch.texture is None and batch.normals.shape == (3, 2, 32, 32, 3)
    for t in range(len(seq)):
        alone = renderer.render(seq.frame(t), rig, domains=("depth", "normals"))
        np.testing.assert_array_equal(batch.mask[t], alone.mask[0])
        np.testing.assert_allclose(batch.depth[t][batch.mask[t]], alone.depth[0][alone.mask[0]], atol=1e-4)
    ref = get_renderer("open3d").render(seq, rig, domains=("depth", "normals"))
    assert (batch.mask != ref.mask).mean() < 0.005
    common = batch.mask & ref.mask
    np.testing.assert_allclose(batch.depth[common], ref.depth[common], atol=1e-2)


def test_backend_rejects_bad_inputs(fake_pytorch3d):
    from mer4d.core import DataError

    renderer = PyTorch3DRenderer(device="cpu")
    mesh = _sphere(False)
    with pytest.raises(DataError, match=r"face indices must lie in \[0, "):
        renderer.render(Mesh(mesh.vertices, mesh.faces + 5000), Rig.front(size=8))
    with pytest.raises(DataError, match="rig must be a mer4d.render.Rig"):
        renderer.render(mesh, View("front"))
    with pytest.raises(UnknownNameError, match="did you mean 'depth'"):
        renderer.render(mesh, Rig.front(size=8), domains=("dept",))
    with pytest.raises(Exception, match="batch_size must be an integer"):
        PyTorch3DRenderer(device="cpu", batch_size=0)
