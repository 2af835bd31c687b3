"""``mer4d render`` on a trimesh-written OBJ, a vertex-coloured PLY, a simulated sequence and a 4DME-layout clip."""

import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mer4d.cli import cli

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("open3d")

CLIP = ("S01", "S01_1st_001_01_1")
FIRST, APEX, LAST = 10, 12, 15


def mer4d(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mer4d", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def render(*args):
    result = CliRunner().invoke(cli, ["render", *map(str, args), "--size", "48", "--no-progress"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def png(path, flags=cv2.IMREAD_UNCHANGED):
    image = cv2.imread(str(path), flags)
    assert image is not None, f"{path} missing or unreadable"
    return image


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A 4DME-layout folder: label sheet + one simulated clip as per-frame vertex-coloured PLYs (frames 10-15)."""
    from mer4d.synth import Distractors
    from mer4d.synth.animation import synthesize
    from mer4d.synth.face import make_face
    from mer4d.synth.identity import Identity
    from mer4d.synth.writers.files import write_ply

    root = tmp_path_factory.mktemp("fourdme")
    face = make_face(Identity(), "quick")
    ramp = np.concatenate([np.zeros(2), np.linspace(0.0, 1.0, 4)])  # the brows lower and the lip corner rises from frame 12
    animation = synthesize(face, [(ramp, {"AU4": 1.5, "L12": 2.0})], 6, 60.0, np.random.default_rng(0), Distractors.none())
    folder = root / "mesh_micro" / CLIP[0] / CLIP[1]
    folder.mkdir(parents=True)
    colors = np.full((len(face.vertices), 3), (200, 160, 140), np.uint8)
    for t in range(6):
        write_ply(folder / f"mesh_{FIRST + t:09d}.ply", animation.vertices[t], face.mesh.faces, colors)
    rows = [(*CLIP, FIRST, APEX, LAST, "AU4+L12", "Others", 1), ("S02", "S02_1st_001_01_1", 5, 6, 8, "AU12", "Positive", 2)]
    table = pd.DataFrame(rows, columns=["sub_ID", "fold_name", "Onset", "Apex", "Offset", "AUs", "Emotion", "fold"])
    table.to_excel(root / "4DME_Labelling_Micro_release v1.xlsx", index=False)
    return root


def interior(mask):
    """The mask less its one-pixel rim, where cutting each view to its face box blends the background in."""
    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def test_an_obj_written_by_trimesh_renders_every_view_and_a_contact_sheet(tmp_path):
    # The Must-show case: a bare OBJ in arbitrary units (radius 50), each view cut to its face box.
    path = tmp_path / "sphere.obj"
    trimesh.creation.icosphere(subdivisions=3, radius=50).export(path)
    out = tmp_path / "views"
    result = render(path, "--out", out)
    for view in ("left", "front", "right"):
        depth, texture = png(out / f"{view}_depth.png"), png(out / f"{view}_texture.png")
        assert depth.shape == (48, 48) and texture.shape == (48, 48, 3)
        mask = depth > 0
        # the sphere fills the frame (the face box has a 4% margin) and is not cut: a disc, corners background
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert rows[-1] - rows[0] >= 44 and cols[-1] - cols[0] >= 44 and 0.65 < mask.mean() < 0.85
        assert not (mask[0, 0] or mask[0, -1] or mask[-1, 0] or mask[-1, -1])
        assert (mask & mask[::-1, ::-1]).sum() > 0.9 * mask.sum()  # centred: point-symmetric up to a pixel
        assert depth[mask].max() > depth[mask].min() + 100  # a real depth relief, nearest (centre) brightest
        centre = depth[22:27, 22:27]
        assert centre.max() == depth[mask].max()
        assert (texture[mask] > 0).all()  # headlight shading for a mesh without colours
    sheet = png(out / "contact_sheet.png", cv2.IMREAD_COLOR)
    assert sheet.shape[0] > 200 and sheet.std() > 10
    assert f"wrote {out / 'contact_sheet.png'}" in result.output


def test_units_do_not_matter_a_mesh_in_metres_frames_like_one_in_millimetres(tmp_path):
    for name, radius in (("mm.obj", 50.0), ("m.obj", 0.05)):
        trimesh.creation.icosphere(subdivisions=3, radius=radius).export(tmp_path / name)
        render(tmp_path / name, "--out", tmp_path / name[:-4], "--views", "front", "--domains", "depth")
    np.testing.assert_array_equal(png(tmp_path / "mm" / "front_depth.png") > 0, png(tmp_path / "m" / "front_depth.png") > 0)


def test_a_vertex_coloured_ply_shows_its_colours_and_all_four_domains(tmp_path):
    box = trimesh.creation.box(extents=(200.0, 100.0, 50.0))
    box.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(box.vertices), 1))  # pure red
    path = tmp_path / "box.ply"
    box.export(path)
    out = tmp_path / "box"
    render(path, "--out", out, "--domains", "depth,edpi,texture,normals", "--yaw", "40")
    texture = png(out / "left_texture.png")  # OpenCV order: BGR
    mask = interior(png(out / "left_depth.png") > 0)
    assert mask.sum() > 500 and (texture[mask][:, 2] > 200).all() and (texture[mask][:, :2] < 30).all()
    # the +Z face seen head-on: n ~ (0, 0, 1) -> RGB (128, 128, 255); smooth normals bend towards the shared corners
    normals = png(out / "front_normals.png").astype(int)
    front_mask = png(out / "front_depth.png") > 0
    assert np.abs(np.median(normals[interior(front_mask)], axis=0) - [255, 128, 128]).max() <= 8
    assert len(np.unique(png(out / "front_depth.png")[interior(front_mask)])) == 1  # a flat face-on plane: no ray-noise speckle
    assert png(out / "left_edpi.png").shape == (48, 48)


def test_a_sequence_folder_renders_key_frames_and_dynamic_images(dataset, tmp_path):
    out = tmp_path / "seq"
    result = render(dataset / "mesh_micro" / CLIP[0] / CLIP[1], "--out", out, "--dynamic", "--domains", "depth,texture")
    # first / middle / last frames by their numbers; alignment defaults to auto (ICP: the PLYs carry no landmarks)
    for number in (FIRST, 12, LAST):
        assert (png(out / f"frame{number}_front_depth.png") > 0).mean() > 0.3
    assert not (out / "frame11_front_depth.png").exists()
    for view in ("left", "front", "right"):
        di = png(out / f"dynamic_{view}_depth.png").astype(float)
        assert di.std() > 1.0  # the expression moved the surface: the dynamic image is not flat
    assert "6 of 6 frame(s) rendered" in result.output
    assert png(out / "contact_sheet.png").shape[0] > 400


def test_a_dataset_clip_id_renders_onset_apex_offset(dataset, tmp_path):
    out = tmp_path / "clip"
    result = render("/".join(CLIP), "--root", dataset, "--out", out, "--views", "front", "--domains", "depth", "--all-frames")
    assert sorted(p.name for p in out.glob("frame*.png")) == [f"frame{n}_front_depth.png" for n in range(FIRST, LAST + 1)]
    assert f"frames {FIRST}-{APEX}-{LAST}" in result.output
    assert (out / "contact_sheet.png").exists()


def test_bad_inputs_give_one_clear_message_and_a_nonzero_exit(dataset, tmp_path):
    (tmp_path / "bad.ply").write_text("ply\nformat ascii 1.0\nelement vertex 2\n")  # a truncated header
    (tmp_path / "ok.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    cases = [
        (("render", "missing.obj"), "missing.obj does not exist"),
        (("render", "bad.ply"), "bad.ply cannot be read as a .ply mesh"),
        (("render", "ok.obj", "--views", "frnt"), "unknown view 'frnt'; did you mean 'front'?"),
        (("render", "ok.obj", "--domains", "depth,normal"), "unknown domain 'normal'; did you mean 'normals'?"),
        (("render", "S01/S01_1st_001_01", "--root", str(dataset)), "did you mean 'S01/S01_1st_001_01_1'"),
        (("render", "ok.obj", "--dynamic"), "--dynamic needs a sequence of at least 2 frames"),
    ]
    for args, message in cases:
        out = mer4d(*args, cwd=tmp_path)
        assert out.returncode != 0 and "Traceback" not in out.stderr, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
    assert not list(tmp_path.glob("render_out/*"))


def test_render_help_imports_nothing_heavy():
    probe = ("import sys; from mer4d.cli import cli; cli.main(['render', '--help'], standalone_mode=False); "
             "print(sorted(m for m in ('torch', 'open3d', 'trimesh', 'matplotlib', 'numpy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "--domains" in out.stdout and out.stdout.strip().splitlines()[-1] == "[]"
