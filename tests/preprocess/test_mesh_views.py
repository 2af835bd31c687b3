"""Mesh clip -> left/front/right domain frames -> cross-domain dynamic images."""

import numpy as np
import pytest

from mer4d.core.errors import RecipeError
from mer4d.preprocess.domains import DPI_FLOOR, dpi, edpi
from mer4d.preprocess.mesh_views import MeshViewSettings, clip_dynamic_images, prepare_clip, view_frames
from mer4d.synth import Distractors
from mer4d.synth.animation import synthesize
from mer4d.synth.face import make_face
from mer4d.synth.identity import Identity


@pytest.fixture(scope="module")
def clip():
    face = make_face(Identity(), "quick")
    ramp = np.linspace(0.0, 1.0, 6)
    return synthesize(face, [(ramp, {"L12": 2.0})], 6, 60.0, np.random.default_rng(0), Distractors.none()).to_mesh_seq()


def test_dpi_is_per_clip_nearer_brighter_and_zero_outside():
    depth = np.full((2, 1, 2, 2), np.nan, np.float32)
    depth[0, 0] = [[100.0, 110.0], [np.nan, 120.0]]
    depth[1, 0] = [[105.0, 110.0], [np.nan, 120.0]]
    mask = np.isfinite(depth)
    out = dpi(depth, mask)
    assert out[0, 0, 0, 0] == pytest.approx(1.0) and out[0, 0, 1, 1] == pytest.approx(DPI_FLOOR)
    # frame 1 has no 100 mm pixel, yet 105 mm maps with the clip's range, not its own
    assert out[1, 0, 0, 0] == pytest.approx(DPI_FLOOR + (1 - DPI_FLOOR) * 15 / 20)
    assert out[:, :, 1, 0].max() == 0.0


def test_highpass_edpi_keeps_flat_regions_and_boosts_a_bump():
    flat = np.full((1, 1, 21, 21), 0.5, np.float32)
    mask = np.ones_like(flat, bool)
    np.testing.assert_allclose(edpi(flat, mask), flat, atol=1e-6)
    bump = flat.copy()
    bump[0, 0, 10, 10] = 0.6
    assert edpi(bump, mask)[0, 0, 10, 10] > 0.6
    with pytest.raises(RecipeError, match="unknown E-DPI"):
        edpi(flat, mask, method="sharpen")


def test_views_domains_and_dynamic_images_have_the_documented_shapes(clip):
    settings = MeshViewSettings(size=48, align="landmarks")
    frames = view_frames(prepare_clip(clip, settings), settings)
    for name in ("dpi", "edpi", "texture"):
        assert frames[name].shape == (6, 3, 48, 48)
        assert frames[name][~frames["mask"]].mean() < 0.03 and frames[name][:, :, 0, 0].max() == 0.0  # background stays dark
    # each view's face box fills its image: the face spans nearly all of its longer side
    for v in range(3):
        rows, cols = np.flatnonzero(frames["mask"][0, v].any(axis=1)), np.flatnonzero(frames["mask"][0, v].any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) >= 42
    di = clip_dynamic_images(clip, settings)
    assert di.shape == (3, 3, 48, 48) and di.dtype == np.float32 and 0.0 <= di.min() <= di.max() <= 1.0


def test_a_static_clip_gives_flat_dynamic_images(clip):
    static = type(clip)(np.repeat(clip.vertices[:1], 4, axis=0), clip.faces, clip.fps, uvs=clip.uvs, texture=clip.texture,
                        landmarks=np.repeat(clip.landmarks[:1], 4, axis=0), landmark_names=clip.landmark_names)
    di = clip_dynamic_images(static, MeshViewSettings(size=32, align="landmarks"))
    assert np.ptp(di) == 0.0


def test_settings_are_checked():
    with pytest.raises(RecipeError, match="render.domains"):
        MeshViewSettings(domains=("depth", "curvature"))
    with pytest.raises(RecipeError, match="render.edpi"):
        MeshViewSettings(edpi="fancy")


def test_dynamic_images_are_normalised_per_view_and_domain():
    from mer4d.preprocess.mesh_views import dynamic_images

    t = np.arange(5, dtype=np.float32)[:, None, None, None]
    frames = {"dpi": np.broadcast_to(t * np.linspace(0, 1, 16).reshape(1, 1, 4, 4), (5, 2, 4, 4)).copy()}
    frames["texture"] = 100.0 * frames["dpi"]  # a much larger range must not squash dpi
    di = dynamic_images(frames, ("dpi", "texture"))
    assert di.shape == (2, 2, 4, 4)
    for v in range(2):
        for d in range(2):
            assert di[v, d].min() == 0.0 and di[v, d].max() == pytest.approx(1.0)


def test_dpi_of_a_flat_on_plane_is_uniform_not_stretched_rounding_noise():
    rng = np.random.default_rng(0)
    mask = np.ones((1, 1, 8, 8), bool)
    flat = (600.0 + 1e-4 * rng.standard_normal((1, 1, 8, 8))).astype(np.float32)  # float rounding-level spread
    np.testing.assert_array_equal(dpi(flat, mask), np.full(flat.shape, DPI_FLOOR, np.float32))
    relief = flat + np.linspace(0.0, 10.0, 8, dtype=np.float32)[None, None, None, :]  # 10 mm of real relief
    out = dpi(relief, mask)
    assert out.max() == pytest.approx(1.0) and out.min() == pytest.approx(DPI_FLOOR)


def test_mix_edpi_renders_the_texture_even_without_the_texture_domain(clip):
    from mer4d.preprocess.mesh_views import domain_frames, render_domains, view_rig
    from mer4d.render import get_renderer

    settings = MeshViewSettings(size=32, align="landmarks", domains=("dpi", "edpi"), edpi="mix")
    assert render_domains(settings) == ("depth", "texture") and render_domains(MeshViewSettings(domains=("dpi", "edpi"))) == ("depth",)
    frames = view_frames(prepare_clip(clip, settings), settings)
    assert set(frames) == {"dpi", "edpi", "mask"} and frames["edpi"][frames["mask"]].mean() < frames["dpi"][frames["mask"]].mean()
    depth_only = get_renderer(settings.backend).render(clip, view_rig(clip, settings), ("depth",))
    with pytest.raises(RecipeError, match=r"dpi, edpi with E-DPI 'mix' need the texture; render with domains \('depth', 'texture'\)"):
        domain_frames(depth_only, settings)


def test_view_rig_frames_any_units_and_refuses_a_mesh_without_size(clip):
    from mer4d.core.errors import DataError
    from mer4d.preprocess.mesh_views import EYE_DISTANCE_MM, view_rig

    settings = MeshViewSettings(size=32, views=("front",), crop=False, align="none")
    face = view_rig(clip, settings).views[0]
    assert face.distance_mm == EYE_DISTANCE_MM and face.width == 40  # size x oversample
    big = type(clip)(clip.vertices * 100.0, clip.faces, clip.fps)  # a face in 1/100 mm: the eye must move out of the head
    rig = view_rig(big, settings)
    assert rig.views[0].distance_mm > np.ptp(big.vertices[0], axis=0).max() and rig.views[0].extent_mm == pytest.approx(100 * face.extent_mm, rel=1e-5)
    small, large = (view_frames(type(clip)(v, clip.faces, clip.fps), settings) for v in (clip.vertices, big.vertices))
    assert (small["mask"] != large["mask"]).mean() < 0.01 and np.abs(small["dpi"] - large["dpi"]).max() < 0.02
    flat = type(clip)(np.zeros_like(clip.vertices), clip.faces, clip.fps)
    with pytest.raises(DataError, match="the mesh has no size"):
        view_rig(flat, settings)
