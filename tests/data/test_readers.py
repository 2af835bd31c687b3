"""Readers for image folders, videos, depth and mesh sequences, on small files written here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import DataError, RecipeError
from mer4d.data.readers import list_frames, read_depth, read_frames, read_mesh_seq, read_video


def _gray(seed: int, h: int = 6, w: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _write_frames(folder: Path, names_numbers: list[tuple[str, int]], h: int = 6, w: int = 8) -> dict[int, np.ndarray]:
    """PNG frames (lossless) whose content is seeded by their frame number."""
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for name, number in names_numbers:
        images[number] = _gray(number, h, w)
        assert cv2.imwrite(str(folder / name), images[number])
    return images


# ---------------------------------------------------------------- image folders


def test_list_frames_sorts_numerically_across_zero_padding(tmp_path):
    for name in ["img10.png", "img9.PNG", "img0011.jpg", "cam2_img0008.bmp", "notes.txt", ".img12.png"]:
        (tmp_path / name).write_bytes(b"")
    listing = list_frames(tmp_path)
    assert [(n, p.name) for n, p in listing] == [(8, "cam2_img0008.bmp"), (9, "img9.PNG"), (10, "img10.png"), (11, "img0011.jpg")]


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda d: None, "does not exist"),
        (lambda d: d.mkdir() or (d / "a.txt").write_text("x"), "holds no jpg/jpeg/bmp/png"),
        (lambda d: d.mkdir() or (d / "apex.jpg").write_bytes(b""), "apex.jpg has no digits"),
        (lambda d: d.mkdir() or [(d / n).write_bytes(b"") for n in ("img7.jpg", "img007.png")], "img007.png and img7.jpg both have frame number 7"),
    ],
)
def test_list_frames_errors(tmp_path, setup, match):
    folder = tmp_path / "clip"
    setup(folder)
    with pytest.raises(DataError, match=match):
        list_frames(folder)


def test_read_frames_selects_by_absolute_number(tmp_path):
    images = _write_frames(tmp_path, [(f"img{n}.png" if n < 10 else f"img{n:04d}.png", n) for n in range(5, 16)])
    frames, numbers = read_frames(tmp_path, first=8, last=12)
    assert frames.shape == (5, 1, 6, 8) and frames.dtype == np.uint8
    assert numbers.tolist() == [8, 9, 10, 11, 12] and numbers.dtype == np.int64
    for frame, n in zip(frames, numbers, strict=True):
        np.testing.assert_array_equal(frame[0], images[n])
    all_frames, all_numbers = read_frames(tmp_path)
    assert all_numbers.tolist() == list(range(5, 16)) and len(all_frames) == 11


def test_read_frames_rgb_gives_rgb_order(tmp_path):
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "f1.png"), bgr)
    frames, _ = read_frames(tmp_path, color="rgb")
    assert frames.shape == (1, 3, 4, 5)
    assert frames[0, 2].min() == 200 and frames[0, :2].max() == 0
    with pytest.raises(RecipeError, match="color must be one of"):
        read_frames(tmp_path, color="bgr")


def test_read_frames_names_missing_frames(tmp_path):
    _write_frames(tmp_path, [(f"{n}.jpg", n) for n in (1, 2, 3, 6, 7, 9)])
    with pytest.raises(DataError, match=r"frames 4-5, 8 of the requested range 1-9 are missing.*holds frames 1-3, 6-7, 9"):
        read_frames(tmp_path)
    with pytest.raises(DataError, match="frames 0 of the requested range 0-2 are missing"):
        read_frames(tmp_path, first=0, last=2)
    with pytest.raises(DataError, match="no frame in the requested range 20-30"):
        read_frames(tmp_path, first=20, last=30)
    with pytest.raises(DataError, match="first frame 7 is after last frame 3"):
        read_frames(tmp_path, first=7, last=3)
    _, numbers = read_frames(tmp_path, allow_gaps=True)
    assert numbers.tolist() == [1, 2, 3, 6, 7, 9]


def test_read_frames_corrupt_file_and_size_mismatch(tmp_path):
    _write_frames(tmp_path, [("1.png", 1), ("2.png", 2)])
    (tmp_path / "3.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"frame 3 \(.*3\.png\) cannot be read as an image"):
        read_frames(tmp_path)
    cv2.imwrite(str(tmp_path / "3.png"), _gray(3, h=7, w=8))
    with pytest.raises(DataError, match=r"frame 3 \(.*\) is 8x7 \(WxH\) but frame 1 \(1.png\) is 8x6"):
        read_frames(tmp_path)


# ---------------------------------------------------------------- video


def _write_video(path: Path, count: int, h: int = 32, w: int = 48) -> list[np.ndarray]:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (w, h))
    assert writer.isOpened()
    # Smooth, distinct frames: a brightness ramp per frame, so MJPG loses almost nothing.
    frames = [np.full((h, w, 3), 20 + 20 * i, np.uint8) for i in range(count)]
    for frame in frames:
        writer.write(frame)
    writer.release()
    return frames


def test_read_video_round_trip(tmp_path):
    path = tmp_path / "clip.avi"
    written = _write_video(path, 6)
    frames, numbers = read_video(path)
    assert frames.shape == (6, 1, 32, 48) and frames.dtype == np.uint8
    assert numbers.tolist() == list(range(6))
    part, numbers = read_video(path, first=2, last=4, color="rgb")
    assert part.shape == (3, 3, 32, 48) and numbers.tolist() == [2, 3, 4]
    for got, want in zip(part, written[2:5], strict=True):
        assert np.abs(got.astype(int) - want.transpose(2, 0, 1)).mean() < 3


def test_read_video_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_video(tmp_path / "missing.avi")
    (tmp_path / "bad.avi").write_bytes(b"garbage" * 10)
    with pytest.raises(DataError, match="cannot be opened|no decodable frame"):
        read_video(tmp_path / "bad.avi")
    path = tmp_path / "clip.avi"
    _write_video(path, 4)
    with pytest.raises(DataError, match=r"requested frames 2-9 but the file has 4 frames \(0-3\)"):
        read_video(path, first=2, last=9)
    with pytest.raises(DataError, match="bad frame range"):
        read_video(path, first=-1)


# ---------------------------------------------------------------- depth


def test_read_depth_png_round_trip_in_mm(tmp_path):
    rng = np.random.default_rng(0)
    written = {}
    for n in (100, 101, 102):
        depth = rng.integers(300, 1500, (5, 7)).astype(np.uint16)
        depth[0, n - 100] = 0  # no measurement
        written[n] = depth
        assert cv2.imwrite(str(tmp_path / f"{n}.png"), depth)
    depth, numbers = read_depth(tmp_path, first=101)
    assert depth.shape == (2, 1, 5, 7) and depth.dtype == np.float32
    assert numbers.tolist() == [101, 102]
    for frame, n in zip(depth, numbers, strict=True):
        want = written[n].astype(np.float32)
        want[want == 0] = np.nan
        np.testing.assert_array_equal(frame[0], want)
    assert np.isnan(depth[0, 0, 0, 1]) and np.isnan(depth).sum() == 2


def test_read_depth_npy(tmp_path):
    array = np.arange(4 * 3 * 2, dtype=np.uint16).reshape(4, 3, 2)
    np.save(tmp_path / "depth.npy", array)
    depth, numbers = read_depth(tmp_path / "depth.npy", first=1, last=2)
    assert depth.shape == (2, 1, 3, 2) and numbers.tolist() == [1, 2]
    np.testing.assert_array_equal(depth[:, 0], array[1:3].astype(np.float32))
    full, _ = read_depth(tmp_path / "depth.npy")
    assert np.isnan(full[0, 0, 0, 0]) and np.isnan(full).sum() == 1
    with pytest.raises(DataError, match=r"requested frames 3-5 but it holds 4 frames"):
        read_depth(tmp_path / "depth.npy", first=3, last=5)
    np.save(tmp_path / "flat.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"shape \(3, 4\).*expected a numeric \(T, H, W\)"):
        read_depth(tmp_path / "flat.npy")


def test_read_depth_errors(tmp_path):
    cv2.imwrite(str(tmp_path / "1.png"), np.full((4, 4), 90, np.uint8))
    with pytest.raises(DataError, match=r"depth frame 1 \(.*\) is 8-bit uint8; depth must be 16-bit"):
        read_depth(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_depth(tmp_path / "nope")
    (tmp_path / "depth.txt").write_text("1 2 3")
    with pytest.raises(DataError, match=r"\.txt file; expected a folder of 16-bit PNG"):
        read_depth(tmp_path / "depth.txt")


# ---------------------------------------------------------------- mesh sequences

# A quad (2 triangles) whose vertex 0 sits on a texture seam: it has UV 1 in face 1 and UV 5 in face 2.
_SEAM_FACES = "f 1/1 2/2 3/3\nf 1/5 3/3 4/4\n"
_PLAIN_FACES = "f 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"
_UVS = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.25, 0.75)]


def _write_textured_obj(path: Path, vertices: np.ndarray, faces: str, texture: str = "tex.png") -> None:
    (path.parent / "face.mtl").write_text(f"newmtl skin\nmap_Kd {texture}\n")
    lines = ["mtllib face.mtl", "usemtl skin"]
    lines += [f"v {x} {y} {z}" for x, y, z in vertices]
    lines += [f"vt {u} {v}" for u, v in _UVS]
    path.write_text("\n".join(lines) + "\n" + faces)


def _quad(t: int) -> np.ndarray:
    return np.array([[0, 0, 0], [10, 0, 0], [10, 10, t], [0, 10, 0]], np.float32)


def test_textured_obj_sequence_round_trip(tmp_path):
    texture = np.random.default_rng(0).integers(0, 256, (8, 16, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "tex.png"), texture[..., ::-1])  # OpenCV writes BGR
    for n in (8, 9, 10):
        _write_textured_obj(tmp_path / f"mesh_{n:03d}.obj", _quad(n), _PLAIN_FACES)
    seq = read_mesh_seq(tmp_path, first=9, fps=30.0)
    assert isinstance(seq, MeshSeq) and len(seq) == 2 and seq.fps == 30.0
    assert seq.frame_numbers.tolist() == [9, 10]
    np.testing.assert_array_equal(seq.vertices[0], _quad(9))  # no seam: file vertex order is kept
    np.testing.assert_array_equal(seq.vertices[1], _quad(10))
    np.testing.assert_array_equal(seq.faces, [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_allclose(seq.uvs, _UVS[:4])
    np.testing.assert_array_equal(seq.texture, texture)
    assert seq.colors is None and seq.vertices.dtype == np.float32 and seq.faces.dtype == np.int64


def test_textured_obj_seam_vertices_are_split(tmp_path):
    cv2.imwrite(str(tmp_path / "tex.png"), np.zeros((4, 4, 3), np.uint8))
    for n in (1, 2):
        _write_textured_obj(tmp_path / f"{n}.obj", _quad(n), _SEAM_FACES)
    seq = read_mesh_seq(tmp_path)
    assert seq.vertices.shape == (2, 5, 3)  # vertex 0 has two UVs -> two copies
    # Every face corner keeps the UV the file gave it.
    corner_uvs = seq.uvs[seq.faces].reshape(-1, 2).tolist()
    assert corner_uvs == [list(_UVS[i]) for i in (0, 1, 2, 4, 2, 3)]
    np.testing.assert_array_equal(seq.vertices[1][seq.faces], _quad(2)[[[0, 1, 2], [0, 2, 3]]])


def test_coloured_ply_sequence_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    faces = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    colors0 = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    written = {}
    for n in (3, 4, 5):
        vertices = rng.normal(size=(5, 3)).astype(np.float32) * 50
        colors = colors0 if n == 3 else rng.integers(0, 256, (5, 3), dtype=np.uint8)
        mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=colors, process=False)
        mesh.export(tmp_path / f"frame{n}.ply")
        written[n] = vertices
    seq = read_mesh_seq(tmp_path)
    assert seq.frame_numbers.tolist() == [3, 4, 5] and seq.fps == 60.0
    for t, n in enumerate((3, 4, 5)):
        np.testing.assert_allclose(seq.vertices[t], written[n], rtol=1e-6)
    np.testing.assert_array_equal(seq.faces, faces)
    np.testing.assert_array_equal(seq.colors, colors0)  # the first frame's colours
    assert seq.uvs is None and seq.texture is None


def test_mesh_topology_mismatch_names_the_frame(tmp_path):
    vertices = np.eye(4, 3, dtype=np.float32)
    for n, faces in ((1, [[0, 1, 2], [0, 2, 3]]), (2, [[0, 1, 2], [0, 2, 3]]), (3, [[0, 1, 2], [0, 3, 2]])):
        trimesh.Trimesh(vertices=vertices, faces=faces, process=False).export(tmp_path / f"m{n}.ply")
    with pytest.raises(DataError, match=r"mesh frame 3 \(.*m3\.ply\) has a different face array from frame 1 \(m1\.ply\).*face 1"):
        read_mesh_seq(tmp_path)
    trimesh.Trimesh(vertices=np.eye(5, 3), faces=[[0, 1, 2], [0, 2, 3]], process=False).export(tmp_path / "m3.ply")
    with pytest.raises(DataError, match="mesh frame 3 .* has 5 vertices and 2 faces but frame 1 .* has 4 and 2"):
        read_mesh_seq(tmp_path)
    assert len(read_mesh_seq(tmp_path, last=2)) == 2


def test_mesh_errors(tmp_path):
    _write_textured_obj(tmp_path / "1.obj", _quad(1), _PLAIN_FACES, texture="missing.png")
    with pytest.raises(DataError, match=r"mesh frame 1 .* no texture image could be loaded"):
        read_mesh_seq(tmp_path)
    (tmp_path / "1.obj").write_text("this is not a mesh\n")
    with pytest.raises(DataError, match="mesh frame 1 .* holds no mesh"):
        read_mesh_seq(tmp_path)
    (tmp_path / "1.obj").unlink()
    (tmp_path / "2.ply").write_text("garbage\n")
    with pytest.raises(DataError, match=r"mesh frame 2 .* cannot be read as a \.ply mesh"):
        read_mesh_seq(tmp_path)
    with pytest.raises(RecipeError, match="fps must be a positive number"):
        read_mesh_seq(tmp_path, fps=0)


def test_simulator_ply_fast_path_equals_trimesh(tmp_path):
    from mer4d.synth.writers.files import write_ply

    rng = np.random.default_rng(2)
    faces = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    frames = rng.normal(size=(4, 5, 3)).astype(np.float32) * 30
    for n, v in enumerate(frames):
        write_ply(tmp_path / f"mesh_{n:09d}.ply", v, faces, np.full((5, 3), 200, np.uint8))
    seq = read_mesh_seq(tmp_path)
    by_trimesh = [np.asarray(trimesh.load(tmp_path / f"mesh_{n:09d}.ply", process=False).vertices) for n in range(4)]
    np.testing.assert_array_equal(seq.vertices, np.stack(by_trimesh).astype(np.float32))
    np.testing.assert_array_equal(seq.vertices, frames)


# ---------------------------------------------------------------- one mesh file (strict as a frame, or lenient for mer4d render)


def test_read_mesh_file_strict_is_one_frame_of_a_sequence(tmp_path):
    from mer4d.data.readers.mesh_seq import read_mesh_file

    texture = np.random.default_rng(3).integers(0, 256, (8, 16, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "tex.png"), texture[..., ::-1])
    _write_textured_obj(tmp_path / "7.obj", _quad(7), _SEAM_FACES)
    one, seq = read_mesh_file(tmp_path / "7.obj"), read_mesh_seq(tmp_path)
    assert len(one) == 1 and one.frame_numbers.tolist() == [0]
    for name in ("vertices", "faces", "uvs", "texture"):
        np.testing.assert_array_equal(getattr(one, name), getattr(seq, name))
    np.testing.assert_array_equal(read_mesh_file(tmp_path / "7.obj", lenient=True).vertices, seq.vertices)  # same reading when nothing needs leniency
    _write_textured_obj(tmp_path / "7.obj", _quad(7), _PLAIN_FACES, texture="missing.png")
    with pytest.raises(DataError, match=r"7\.obj has vt texture coordinates and an mtllib, but no texture image"):
        read_mesh_file(tmp_path / "7.obj")
    trimesh.creation.box().export(tmp_path / "box.stl")
    with pytest.raises(DataError, match=r"box\.stl: mesh files are \.obj or \.ply, found \.stl; pass lenient=True"):
        read_mesh_file(tmp_path / "box.stl")
    with pytest.raises(DataError, match="is not a file .*it is a folder"):
        read_mesh_file(tmp_path)


def test_read_mesh_file_lenient_reads_what_a_person_may_want_to_look_at(tmp_path):
    from mer4d.data.readers.mesh_seq import read_mesh_file

    # Any trimesh format; a texture that cannot be loaded is a note, the mesh is read bare.
    box = trimesh.creation.box(extents=(2.0, 4.0, 6.0))
    box.export(tmp_path / "box.stl")
    stl = read_mesh_file(tmp_path / "box.stl", lenient=True)
    assert stl.faces.shape == (12, 3) and np.ptp(stl.vertices[0], axis=0).tolist() == [2.0, 4.0, 6.0]
    _write_textured_obj(tmp_path / "q.obj", _quad(1), _PLAIN_FACES, texture="missing.png")
    notes = []
    bare = read_mesh_file(tmp_path / "q.obj", lenient=True, notes=notes)
    assert bare.uvs is None and bare.texture is None and bare.vertices.shape == (1, 4, 3)
    assert len(notes) == 1 and "q.obj has a material but no usable texture image or UVs; read without texture" in notes[0]
    # A scene of two objects: joined, each placed by the scene graph (the second one moved 10 along x).
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(1.0, 1.0, 1.0)), node_name="a")
    scene.add_geometry(trimesh.creation.box(extents=(1.0, 1.0, 1.0)), node_name="b", transform=trimesh.transformations.translation_matrix((10, 0, 0)))
    scene.export(tmp_path / "two.glb")
    notes = []
    joined = read_mesh_file(tmp_path / "two.glb", lenient=True, notes=notes)
    assert joined.faces.shape == (24, 3) and joined.vertices[0][:, 0].min() == -0.5 and joined.vertices[0][:, 0].max() == 10.5
    assert notes == [f"{tmp_path / 'two.glb'} holds 2 meshes; they were joined into one"]
    # Face colours count as vertex colours.
    red = trimesh.creation.box()
    red.visual.face_colors = np.tile([255, 0, 0, 255], (len(red.faces), 1))
    red.export(tmp_path / "red.ply")
    assert (read_mesh_file(tmp_path / "red.ply", lenient=True).colors == [255, 0, 0]).all()
    # No faces at all is still an error, naming the file and what trimesh found.
    (tmp_path / "points.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                                         "end_header\n0 0 0\n1 0 0\n0 1 0\n")
    with pytest.raises(DataError, match=r"points\.ply holds no triangle faces \(trimesh read PointCloud\)"):
        read_mesh_file(tmp_path / "points.ply", lenient=True)
