"""4DME mesh clips as cross-domain multi-view dynamic images (the CCDN input), cached on disk.

Every clip is turned into ``(V, D, size, size)`` float32 by :mod:`mer4d.preprocess.mesh_views`
once; the result is stored under ``<cache>/dynamic/`` keyed by the clip's mesh files (names,
sizes, modification times), the frame range and every rendering setting, written atomically, so
a second run (or another fold) never renders again. With ``magnify`` a second, EVM-magnified
version of each clip is made as well (the 4DME baseline's training-set duplication).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mer4d.preprocess.mesh_views import MeshViewSettings

CACHE_VERSION = 2  # bump when the rendering or pooling code changes what a key produces


def settings_from_render(render: dict, size: int, frames: int) -> MeshViewSettings:
    """The recipe's ``render`` section (a dict) -> :class:`MeshViewSettings`; keys it omits keep their defaults."""
    given = {f.name: render[f.name] for f in fields(MeshViewSettings) if f.name in render and f.name not in ("size", "frames")}
    for key in ("views", "domains"):
        if key in given:
            given[key] = tuple(given[key])
    return MeshViewSettings(**given, size=int(size), frames=int(frames))


def clip_key(mesh_dir: Path, first: int, last: int, settings: MeshViewSettings, magnified: bool) -> str:
    from mer4d.data.readers import list_frames
    from mer4d.data.readers.mesh_seq import MESH_SUFFIXES

    files = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for n, p in list_frames(mesh_dir, MESH_SUFFIXES) if first <= n <= last]
    blob = json.dumps({"v": CACHE_VERSION, "dir": str(Path(mesh_dir).resolve()), "files": files, "range": [first, last],
                       "settings": asdict(settings), "evm": magnified}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def dynamic_cache_dir() -> Path:
    from mer4d.data.cache import cache_dir

    return cache_dir() / "dynamic"


def _store(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temporary file and an atomic rename (a crash leaves nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            np.save(out, array)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _make(row: pd.Series, settings: MeshViewSettings, magnify: bool) -> dict[bool, np.ndarray]:
    from mer4d.data.readers import read_mesh_seq
    from mer4d.preprocess.mesh_views import dynamic_images, prepare_clip, view_frames

    seq = read_mesh_seq(row["mesh_dir"], int(row["onset"]), int(row["offset"]), fps=float(row["fps"]))
    frames = view_frames(prepare_clip(seq, settings), settings)
    out = {False: dynamic_images(frames, settings.domains)}
    if magnify:
        out[True] = dynamic_images(magnified_frames(frames, settings, seq.fps * len(frames["mask"]) / len(seq)), settings.domains)
    return out


def magnified_frames(frames: dict[str, np.ndarray], settings: MeshViewSettings, fps: float) -> dict[str, np.ndarray]:
    """Linear EVM (``algorithms.md`` §3) of every domain's (T, V, H, W) frames, within the face mask."""
    import torch

    from mer4d.preprocess.evm import EVMSettings, magnify

    levels = max(2, min(6, int(np.log2(settings.size)) - 1))
    evm = EVMSettings(levels=levels)
    out = dict(frames)
    for name in settings.domains:
        clip = torch.from_numpy(np.ascontiguousarray(frames[name].transpose(1, 0, 2, 3)[:, :, None]))  # (V, T, 1, H, W)
        boosted = magnify(clip, fps, evm).numpy()[:, :, 0].transpose(1, 0, 2, 3)
        out[name] = np.where(frames["mask"], boosted, 0.0).astype(np.float32)
    return out


def build_dynamic_images(index: pd.DataFrame, settings: MeshViewSettings, magnify: bool, progress: bool = True) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Every clip's dynamic images (and magnified ones), from the cache or rendered and cached now."""
    base = dynamic_cache_dir()
    plain: list[np.ndarray] = []
    boosted: list[np.ndarray] = []
    wanted = [False, True] if magnify else [False]
    for position in tqdm(range(len(index)), desc="4D clips -> dynamic images", unit="clip", disable=not progress):
        row = index.iloc[position]  # load_fourdme has checked that every clip has a mesh folder
        paths = {m: base / f"{clip_key(Path(row['mesh_dir']), int(row['onset']), int(row['offset']), settings, m)}.npy" for m in wanted}
        if all(p.exists() for p in paths.values()):
            arrays = {m: np.load(p) for m, p in paths.items()}
        else:
            arrays = _make(row, settings, magnify)
            for m, p in paths.items():
                _store(p, arrays[m])
        plain.append(arrays[False])
        if magnify:
            boosted.append(arrays[True])
    return plain, (boosted if magnify else None)
