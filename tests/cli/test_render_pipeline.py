"""``mer4d render`` shows what the 4D pipeline computes: same reading, framing, domains and dynamic images (``edpi: mix`` included)."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mer4d.cli import cli

pytest.importorskip("trimesh")
pytest.importorskip("open3d")

SIZE = 48
DOMAINS = {"depth": "dpi", "edpi": "edpi", "texture": "texture"}  # CLI name -> pipeline domain
VIEWS = ("left", "front", "right")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first micro clip of a small simulated 4DME dataset (vertex-coloured PLYs, 17 frames: more than one render chunk)."""
    from mer4d.data.datasets.fourdme import scan
    from mer4d.synth.writers.fourdme import write_fourdme

    root = tmp_path_factory.mktemp("fourdme")
    write_fourdme(root, size="quick", subjects=2, micro_per_subject=1, progress=False)
    index, _ = scan(root)
    row = index[index["mesh_dir"].map(lambda d: isinstance(d, str))].iloc[0]
    assert row["offset"] - row["onset"] + 1 > 8  # RENDER_CHUNK: the CLI renders it in several calls
    return root, row


def quantised(image):
    """What ``mer4d render`` writes for a [0, 1] image (its PNG encoding)."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def png(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} missing or unreadable"
    return image


def cli_render(root, row, out, *options):
    args = ["render", row["clip_id"], "--root", str(root), "--out", str(out), "--size", str(SIZE), "--backend", "open3d",
            "--domains", "depth,edpi,texture", "--dynamic", "--all-frames", "--no-progress", *options]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def pipeline(row, settings, prepare):
    from mer4d.data.readers import read_mesh_seq
    from mer4d.preprocess.mesh_views import dynamic_images, prepare_clip, view_frames

    seq = read_mesh_seq(row["mesh_dir"], int(row["onset"]), int(row["offset"]), fps=float(row["fps"]))
    frames = view_frames(prepare_clip(seq, settings) if prepare else seq, settings)
    return seq.frame_numbers, frames, dynamic_images(frames, settings.domains)


def compare(out, numbers, frames, dynamic, settings, max_levels):
    """Largest difference in gray levels, CLI PNG vs pipeline, over every frame, view and domain; and the share of equal pixels."""
    diffs = []
    width = len(str(int(numbers.max())))
    for t, number in enumerate(numbers):
        for v, view in enumerate(VIEWS):
            for name in ("depth", "edpi"):
                diffs.append(png(out / f"frame{int(number):0{width}d}_{view}_{name}.png").astype(int) - quantised(frames[DOMAINS[name]][t, v]))
            # Texture frames are shown in colour; the pipeline's texture domain is their BT.601 gray.
            bgr = png(out / f"frame{int(number):0{width}d}_{view}_texture.png").astype(float)
            gray = bgr @ np.array([0.114, 0.587, 0.299])
            assert np.abs(gray - frames["texture"][t, v] * 255.0).max() <= 1.0
    for v, view in enumerate(VIEWS):
        for name, domain in DOMAINS.items():
            diffs.append(png(out / f"dynamic_{view}_{name}.png").astype(int) - quantised(dynamic[v, settings.domains.index(domain)]))
    diffs = np.abs(np.stack(diffs))
    assert diffs.max() <= max_levels, diffs.max()
    return diffs.max(), float((diffs == 0).mean())


def test_edpi_mix_renders_exactly_what_view_frames_gives(clip, tmp_path):
    # No alignment on either side: every step is deterministic, so the PNGs are the pipeline's arrays to the gray level.
    from mer4d.preprocess.mesh_views import MeshViewSettings

    root, row = clip
    result = cli_render(root, row, tmp_path, "--edpi", "mix", "--align", "none")
    count = int(row["offset"] - row["onset"] + 1)
    assert f"{count} of {count} frame(s) rendered" in result.output
    settings = MeshViewSettings(size=SIZE, edpi="mix", align="none", crop=False)
    numbers, frames, dynamic = pipeline(row, settings, prepare=False)
    assert compare(tmp_path, numbers, frames, dynamic, settings, max_levels=0) == (0, 1.0)
    # "mix" is gray texture x DPI: darker than the DPI wherever the skin is not white
    mask = frames["mask"]
    assert (frames["edpi"][mask] <= frames["dpi"][mask] + 1e-6).all() and frames["edpi"][mask].mean() < 0.9 * frames["dpi"][mask].mean()


def test_an_aligned_clip_matches_the_loaders_dynamic_images(clip, tmp_path):
    from mer4d.pipeline.meshes import _make
    from mer4d.preprocess.mesh_views import MeshViewSettings

    root, row = clip
    cli_render(root, row, tmp_path)  # default alignment for a clip: auto (ICP: PLYs carry no landmarks), highpass E-DPI
    settings = MeshViewSettings(size=SIZE)
    numbers, frames, dynamic = pipeline(row, settings, prepare=True)
    np.testing.assert_array_equal(dynamic, _make(row, "mesh_dir", settings, magnify=False)[False])  # what the loader caches
    # Open3D's ICP sums in parallel: runs differ in the last bits of the pose, which can move a pixel by one gray level.
    worst, equal = compare(tmp_path, numbers, frames, dynamic, settings, max_levels=1)
    assert equal > 0.999
    print(f"aligned clip: CLI vs pipeline at most {worst} gray level(s) apart, {equal:.4%} of pixels equal")


def test_edpi_mix_on_a_bare_mesh_uses_the_shading_without_a_texture_domain(tmp_path):
    import trimesh

    path = tmp_path / "sphere.obj"
    trimesh.creation.icosphere(subdivisions=3, radius=50).export(path)
    for method in ("mix", "highpass"):
        result = CliRunner().invoke(cli, ["render", str(path), "--out", str(tmp_path / method), "--size", str(SIZE), "--views", "front",
                                          "--domains", "depth,edpi", "--edpi", method, "--no-progress"])
        assert result.exit_code == 0, (result.output, result.exception)
        assert not (tmp_path / method / "front_texture.png").exists()
    depth, mix, highpass = png(tmp_path / "highpass" / "front_depth.png"), png(tmp_path / "mix" / "front_edpi.png"), png(tmp_path / "highpass" / "front_edpi.png")
    mask = cv2.erode((depth > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # off the blended rim
    # headlight shading |n . view| is 1 at the sphere's centre and falls off to its rim: mix = DPI x shading follows it
    assert (mix[mask].astype(int) <= depth[mask].astype(int) + 1).all() and mix[mask].mean() < 0.8 * depth[mask].mean()
    assert abs(int(mix[22:27, 22:27].max()) - int(depth[22:27, 22:27].max())) <= 3 and mix[mask].mean() < 0.8 * highpass[mask].mean()


def test_cli_edpi_choices_are_the_pipelines():
    from mer4d.cli import render as render_cli
    from mer4d.preprocess.domains import EDPI_METHODS
    from mer4d.render import BACKENDS

    assert render_cli.EDPI_METHODS == EDPI_METHODS and render_cli.BACKENDS == BACKENDS
