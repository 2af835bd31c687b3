"""Mesh sequences: one ``.obj`` or ``.ply`` file per frame, read with trimesh into a :class:`MeshSeq`.

:func:`read_mesh_seq` reads a clip's folder, :func:`read_mesh_file` one file (with ``lenient=True``
any mesh a person may want to look at: ``mer4d render``); both go through one per-file loader.

4D capture systems (4DME's DI4D-type rig) write one mesh per frame with the same topology, as a
textured OBJ (``vt`` UVs + an ``.mtl`` naming a texture image) or with per-vertex colours. Frame
numbers come from the file names, as for image folders (:func:`mer4d.data.readers.list_frames`).

Vertex order and UV seams:

* Untextured files are loaded with ``process=False, maintain_order=True``, so vertex ``i`` is the
  ``i``-th ``v`` line / PLY vertex (trimesh may drop vertices after the last one a face uses).
* OBJ files with ``vt`` and an ``mtllib`` are loaded with ``process=False, maintain_order=False``. An OBJ gives UVs
  per face corner, and at a texture seam one vertex carries several UVs; :class:`Mesh` needs one UV
  per vertex. With ``maintain_order=True`` trimesh would keep a single (median-index) UV for such a
  vertex, silently mis-texturing the faces on the other side of the seam. Instead each
  (vertex, UV) pair becomes its own vertex, as renderers do: copies follow their original vertex,
  so without seams the order is the file's order, and with seams N exceeds the number of ``v``
  lines (seam copies share their position). Unreferenced vertices are dropped on this path. The
  split depends only on the face index lists, so frames that share them share the result.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import DataError, RecipeError
from mer4d.core.optional import require
from mer4d.data.readers.frames import list_frames, select_frames

MESH_SUFFIXES = (".obj", ".ply")


def read_mesh_seq(folder: str | Path, first: int | None = None, last: int | None = None, fps: float = 60.0, allow_gaps: bool = False) -> MeshSeq:
    """Read a per-frame mesh sequence with fixed topology.

    Args:
        folder: folder of ``.obj`` / ``.ply`` files named with their frame numbers.
        first, last: absolute frame numbers (inclusive); None means the first / last file.
        fps: frame rate stored in the result (4DME meshes are 60 fps).
        allow_gaps: skip missing frame numbers instead of raising.

    Returns:
        a :class:`MeshSeq` with vertices (T, N, 3) float32, faces (F, 3) int64 and frame_numbers (T,).
        Textured OBJ: ``uvs`` (N, 2) float32 (v = 0 at the image bottom, as in OBJ) and ``texture``
        (Ht, Wt, 3) uint8 RGB of the first frame (per-frame textures of later frames are not kept;
        their UVs must equal the first frame's). Otherwise, vertex colours of the first frame as
        ``colors`` (N, 3) uint8, or None. An OBJ with ``vt`` but no ``mtllib`` line is read without UVs.

    Raises:
        DataError: missing folder or frames (see :func:`list_frames`), an unreadable file, a file
            holding no mesh or several, a referenced texture that cannot be loaded, or a frame whose
            topology (vertex count or face array) or UVs differ from the first frame's (named).
        RecipeError: ``fps`` is not a positive number.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise RecipeError(f"fps must be a positive number, got {fps!r}")
    # Imported here so that importing the readers stays cheap for 2D-only users.
    trimesh = require("trimesh", purpose="reading mesh sequences")
    chosen = select_frames(list_frames(folder, MESH_SUFFIXES), first, last, folder, allow_gaps)
    first_number, first_path = chosen[0]
    ref = _load_file(trimesh, first_path, _frame_where(first_number, first_path))
    vertices = np.empty((len(chosen), *ref["vertices"].shape), dtype=np.float32)
    vertices[0] = ref["vertices"]
    ref_ply = _binary_ply_vertices(first_path.read_bytes()) if first_path.suffix.lower() == ".ply" else None
    for t, (number, path) in enumerate(chosen[1:], start=1):
        if ref_ply is not None:
            # Fast path for fixed-topology binary PLY: everything after the vertex block (faces)
            # is byte-identical to frame 0, so only the positions need reading.
            fast = _binary_ply_vertices(path.read_bytes())
            if fast is not None and fast[1] == ref_ply[1] and fast[0].shape == vertices[t].shape:
                vertices[t] = fast[0]
                continue
        frame = _load_file(trimesh, path, _frame_where(number, path))
        _check_same_topology(frame, ref, _frame_where(number, path), f"frame {first_number} ({first_path.name})")
        vertices[t] = frame["vertices"]
    return MeshSeq(
        vertices=vertices,
        faces=ref["faces"],
        fps=float(fps),
        uvs=ref["uvs"],
        texture=ref["texture"],
        colors=ref["colors"],
        frame_numbers=np.array([n for n, _ in chosen], dtype=np.int64),
    )


def read_mesh_file(path: str | Path, *, lenient: bool = False, notes: list[str] | None = None) -> MeshSeq:
    """Read one mesh file as a one-frame :class:`MeshSeq` (frame number 0, 1 fps).

    Args:
        path: the file. Strict (default): an ``.obj`` / ``.ply`` read exactly as one frame of
            :func:`read_mesh_seq` (same vertex order, UVs, texture and colours, same errors).
        lenient: for looking at an arbitrary mesh: any format trimesh reads; a scene of several
            objects becomes one mesh, each part placed by the scene graph; face colours count as
            vertex colours; a material without a usable texture image or UVs is read without
            texture (a note says so) instead of raising.
        notes: where lenient reading appends what it changed or left out, one sentence each.

    Returns:
        the mesh, with ``uvs`` + ``texture``, or ``colors``, or neither (a bare mesh).

    Raises:
        DataError: a missing or unreadable file, or one holding no triangle faces (named); in
            strict mode also the cases :func:`read_mesh_seq` refuses.
    """
    trimesh = require("trimesh", purpose="reading meshes")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is not a file{' (it is a folder: read it with read_mesh_seq)' if path.is_dir() else ''}; expected one mesh file")
    if not lenient and path.suffix.lower() not in MESH_SUFFIXES:
        raise DataError(f"{path}: mesh files are {' or '.join(MESH_SUFFIXES)}, found {path.suffix or 'no suffix'}; pass lenient=True for other formats trimesh reads")
    mesh = _load_file(trimesh, path, str(path), lenient=lenient, notes=notes)
    return MeshSeq(mesh["vertices"][None], mesh["faces"], 1.0, uvs=mesh["uvs"], texture=mesh["texture"], colors=mesh["colors"],
                   frame_numbers=np.zeros(1, dtype=np.int64))


def _frame_where(number: int, path: Path) -> str:
    return f"mesh frame {number} ({path})"


_PLY_TYPES = {"char": "i1", "uchar": "u1", "short": "<i2", "ushort": "<u2", "int": "<i4", "uint": "<u4", "float": "<f4", "double": "<f8",
              "int8": "i1", "uint8": "u1", "int16": "<i2", "uint16": "<u2", "int32": "<i4", "uint32": "<u4", "float32": "<f4", "float64": "<f8"}


def _binary_ply_vertices(data: bytes) -> tuple[np.ndarray, bytes] | None:
    """(N, 3) float32 positions and the bytes after the vertex block, or None if not that simple a PLY.

    Handles binary little-endian files whose first element is ``vertex`` with scalar properties
    only (x, y, z among them); anything else goes through trimesh.
    """
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply") or end < 0:
        return None
    lines = data[:end].decode("ascii", "replace").splitlines()
    if "format binary_little_endian 1.0" not in lines:
        return None
    elements = [i for i, line in enumerate(lines) if line.startswith("element ")]
    if not elements or lines[elements[0]].split()[1] != "vertex":
        return None
    stop = elements[1] if len(elements) > 1 else len(lines)
    fields = []
    for line in lines[elements[0] + 1 : stop]:
        parts = line.split()
        if parts[:1] == ["property"]:
            if len(parts) != 3 or parts[1] not in _PLY_TYPES:
                return None
            fields.append((parts[2], _PLY_TYPES[parts[1]]))
    names = [n for n, _ in fields]
    if not {"x", "y", "z"} <= set(names) or len(set(names)) != len(names):
        return None
    dtype = np.dtype(fields)
    count = int(lines[elements[0]].split()[2])
    start = end + len(b"end_header\n")
    block = start + count * dtype.itemsize
    if len(data) < block:
        return None
    records = np.frombuffer(data, dtype=dtype, count=count, offset=start)
    xyz = np.stack([records["x"], records["y"], records["z"]], axis=1).astype(np.float32)
    return xyz, data[block:]


def _load_file(trimesh: Any, path: Path, where: str, lenient: bool = False, notes: list[str] | None = None) -> dict[str, Any]:
    """One file -> dict of vertices (N, 3) float32, faces (F, 3) int64, uvs, texture, colors (see :func:`read_mesh_file`)."""
    try:
        text = path.read_bytes()
        textured = path.suffix.lower() == ".obj" and _has_line(text, b"vt ") and _has_line(text, b"mtllib")
        loaded = trimesh.load(str(path), process=False, maintain_order=not textured)
    except Exception as exc:  # trimesh raises many types (ValueError, KeyError, IndexError, ...) on bad files
        raise DataError(f"{where} cannot be read as a {path.suffix or 'mesh'} mesh ({type(exc).__name__}: {exc}); the file is corrupt or not a mesh") from exc
    mesh = _merged_mesh(trimesh, loaded, where, notes) if lenient else _single_mesh(trimesh, loaded, where)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    vertices = np.asarray(mesh.vertices, dtype=np.float32)
    out: dict[str, Any] = {"vertices": vertices, "faces": faces, "uvs": None, "texture": None, "colors": None}
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    uv = getattr(visual, "uv", None)
    if lenient and (textured or kind == "texture"):
        image = _material_image(visual)
        if image is not None and uv is not None and len(uv) == len(vertices):
            out["uvs"], out["texture"] = np.asarray(uv, dtype=np.float32), np.asarray(image.convert("RGB"), dtype=np.uint8)
        elif notes is not None:
            notes.append(f"{where} has a material but no usable texture image or UVs; read without texture")
    elif lenient and kind in ("vertex", "face"):
        out["colors"] = np.asarray(visual.vertex_colors, dtype=np.uint8)[:, :3].copy()  # trimesh spreads face colours to vertices
    elif textured and uv is not None:
        out["uvs"] = np.asarray(uv, dtype=np.float32)
        out["texture"] = _texture_image(visual, where)
    elif kind == "vertex":
        out["colors"] = np.asarray(visual.vertex_colors, dtype=np.uint8)[:, :3].copy()
    return out


def _has_line(text: bytes, start: bytes) -> bool:
    return text.startswith(start) or b"\n" + start in text


def _single_mesh(trimesh: Any, loaded: Any, where: str) -> Any:
    if isinstance(loaded, trimesh.Scene):
        parts = list(loaded.geometry.values())
        if not parts:
            raise DataError(f"{where} holds no mesh: the file is empty or not an OBJ/PLY mesh")
        if len(parts) > 1:
            raise DataError(
                f"{where} holds {len(parts)} separate meshes (several objects, groups or materials); mer4d reads one mesh "
                "per frame. Merge them into one object with one material (one texture image) before loading."
            )
        loaded = parts[0]
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise DataError(f"{where} has no triangle faces (a point cloud?); expected a triangle mesh")
    return loaded


def _merged_mesh(trimesh: Any, loaded: Any, where: str, notes: list[str] | None) -> Any:
    """Lenient :func:`_single_mesh`: a scene's triangle meshes, each placed by the scene graph, joined into one."""
    found = type(loaded).__name__
    if isinstance(loaded, trimesh.Scene):
        parts = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        found = f"a scene of {len(loaded.geometry)} geometries"
        if len(parts) > 1 and notes is not None:
            notes.append(f"{where} holds {len(parts)} meshes; they were joined into one")
        loaded = parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts) if parts else None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise DataError(f"{where} holds no triangle faces (trimesh read {found}); expected a triangle mesh, not an empty file or a point cloud")
    return loaded


def _material_image(visual: Any) -> Any:
    """The texture image (PIL) of a trimesh visual's material, or None."""
    material = getattr(visual, "material", None)
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    return image


def _texture_image(visual: Any, where: str) -> np.ndarray:
    image = _material_image(visual)
    if image is None:
        raise DataError(
            f"{where} has vt texture coordinates and an mtllib, but no texture image could be loaded: the .mtl file is "
            "missing, has no map_Kd line, or the image it names is missing next to it. Restore the .mtl/texture files."
        )
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _check_same_topology(frame: dict[str, Any], ref: dict[str, Any], where: str, ref_name: str) -> None:
    n, n_ref = len(frame["vertices"]), len(ref["vertices"])
    f, f_ref = frame["faces"], ref["faces"]
    if n != n_ref or f.shape != f_ref.shape:
        raise DataError(
            f"{where} has {n} vertices and {len(f)} faces but {ref_name} has {n_ref} and {len(f_ref)}; all frames of a mesh "
            "sequence must share one topology (use the registered/tracked meshes, not raw per-frame scans)"
        )
    if not np.array_equal(f, f_ref):
        i = int(np.flatnonzero((f != f_ref).any(axis=1))[0])
        raise DataError(
            f"{where} has a different face array from {ref_name} (first difference at face {i}: {f[i].tolist()} vs "
            f"{f_ref[i].tolist()}); all frames of a mesh sequence must share one topology"
        )
    if (frame["uvs"] is None) != (ref["uvs"] is None):
        has = "has" if frame["uvs"] is not None else "has no"
        raise DataError(f"{where} {has} texture UVs unlike {ref_name}; all frames must be textured the same way")
    if frame["uvs"] is not None and not np.allclose(frame["uvs"], ref["uvs"], atol=1e-6):
        raise DataError(f"{where} has different UVs from {ref_name}; a MeshSeq holds one UV set, so frames must share their UV layout")
