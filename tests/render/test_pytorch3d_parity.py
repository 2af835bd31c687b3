"""The pytorch3d backend against the open3d reference on the same meshes and rigs (needs pytorch3d).

Runs on CUDA when available (224 px); on a CPU-only PyTorch3D install it falls back to small
images, since PyTorch3D's CPU rasteriser is very slow. Without pytorch3d the whole module is
skipped; the camera mapping is also checked without it in test_renderer_selection.py.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytorch3d")
pytest.importorskip("open3d")
torch = pytest.importorskip("torch")

from mer4d.core.containers import Mesh, MeshSeq  # noqa: E402
from mer4d.render import Renderer, Rig, View, get_renderer  # noqa: E402
from mer4d.render.pytorch3d_backend import PyTorch3DRenderer  # noqa: E402

CUDA = torch.cuda.is_available()
SIZE = 224 if CUDA else 96


def rig(size: int | None = None) -> Rig:
    """Front and a 30-degree side view, each orthographic and pinhole."""
    common = {"width": size or SIZE, "height": size or SIZE}
    return Rig(
        (
            View("front", **common),
            View("left", yaw_deg=30.0, **common),
            View("pin_front", projection="pinhole", **common),
            View("pin_left", projection="pinhole", yaw_deg=30.0, pitch_deg=5.0, **common),
        )
    )


def sphere() -> Mesh:
    trimesh = pytest.importorskip("trimesh")
    s = trimesh.creation.icosphere(subdivisions=5, radius=80.0)
    return Mesh(np.asarray(s.vertices, np.float32), np.asarray(s.faces, np.int64))


def face() -> Mesh:
    from mer4d.synth.face import make_face
    from mer4d.synth.identity import Identity

    return make_face(Identity(), "quick").mesh


@pytest.fixture(scope="module")
def renderers() -> tuple[PyTorch3DRenderer, Renderer]:
    return PyTorch3DRenderer(device="auto"), get_renderer("open3d")


def erode(mask: np.ndarray) -> np.ndarray:
    """Drop pixels on the silhouette (a 4-neighbour erosion over the last two axes)."""
    inner = mask.copy()
    inner[..., 1:, :] &= mask[..., :-1, :]
    inner[..., :-1, :] &= mask[..., 1:, :]
    inner[..., :, 1:] &= mask[..., :, :-1]
    inner[..., :, :-1] &= mask[..., :, 1:]
    return inner


def assert_parity(got, ref) -> None:
    for v, name in enumerate(ref.view_names):
        a, b = got.mask[:, v], ref.mask[:, v]
        iou = (a & b).sum() / (a | b).sum()
        assert iou >= 0.98, f"{name}: mask IoU {iou:.4f}"
        common = a & b
        da, db = got.depth[:, v], ref.depth[:, v]
        rel = np.abs(da - db) / db
        inner = erode(common)
        assert (rel[inner] < 0.01).all(), f"{name}: depth off by {rel[inner].max():.2%} inside the silhouette"
        assert (rel[common] < 0.01).mean() > 0.995, f"{name}: depth within 1% on only {(rel[common] < 0.01).mean():.2%} of pixels"
        assert np.median(np.abs(da - db)[common]) < 0.05, f"{name}: median depth difference {np.median(np.abs(da - db)[common]):.3f} mm"
        tex = np.abs(got.texture[:, v] - ref.texture[:, v])[common].mean()
        assert tex < 0.01, f"{name}: texture mean abs difference {tex:.4f}"
        cos = np.einsum("...c,...c->...", got.normals[:, v], ref.normals[:, v])[inner]
        assert (1 - cos).mean() < 1e-3, f"{name}: normals differ (mean 1 - cos = {(1 - cos).mean():.2e})"
    assert np.isnan(got.depth[~got.mask]).all() and np.isfinite(got.depth[got.mask]).all()
    assert (got.texture[~got.mask] == 0).all() and (got.normals[~got.mask] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(got.normals[got.mask], axis=-1), 1.0, atol=1e-4)


def test_is_a_renderer(renderers):
    p3d, _ = renderers
    assert isinstance(p3d, Renderer) and p3d.name == "pytorch3d"
    if CUDA:
        assert p3d.device.type == "cuda" and get_renderer("auto").name == "pytorch3d"


@pytest.mark.parametrize("make", [sphere, face], ids=["sphere", "face"])
def test_matches_open3d(renderers, make):
    p3d, o3d = renderers
    mesh, r = make(), rig()
    got, ref = p3d.render(mesh, r), o3d.render(mesh, r)
    assert got.depth.shape == ref.depth.shape == (1, 4, SIZE, SIZE) and got.view_names == ref.view_names
    for field in ("depth", "texture", "normals"):
        assert getattr(got, field).dtype == np.float32
    assert_parity(got, ref)


def test_sphere_depth_is_analytic(renderers):
    p3d, _ = renderers
    view = View("front", width=SIZE, height=SIZE)
    out = p3d.render(sphere(), Rig((view,)), domains=("depth",))
    centre = (SIZE - 1) // 2
    assert out.depth[0, 0, centre, centre] == pytest.approx(600 - 80, abs=0.5)
    assert out.texture is None and out.normals is None


def test_meshseq_matches_open3d_and_single_frames(renderers):
    p3d, o3d = renderers
    base = face()
    shifts = np.array([[0, 0, 0], [8, -4, 15], [-10, 6, -20]], np.float32)
    seq = MeshSeq(base.vertices[None] + shifts[:, None], base.faces, fps=30.0, uvs=base.uvs, texture=base.texture)
    r = rig(SIZE // 2)
    batched = PyTorch3DRenderer(device=str(p3d.device), batch_size=5).render(seq, r)  # chunks straddle frames
    assert batched.depth.shape == (3, 4, SIZE // 2, SIZE // 2)
    for t in range(len(seq)):
        alone = p3d.render(seq.frame(t), r)
        np.testing.assert_array_equal(batched.mask[t], alone.mask[0])
        np.testing.assert_allclose(batched.depth[t][batched.mask[t]], alone.depth[0][alone.mask[0]], atol=1e-3)
    assert_parity(batched, o3d.render(seq, r))
