"""The mesh stage: mesh clips -> cross-domain multi-view dynamic images (the CCDN input), cached.

Every clip becomes ``(V, D, size, size)`` float32 through :mod:`mer4d.preprocess.mesh_views`
once; the result is stored in the ``dynamic`` area of :mod:`mer4d.data.cache`, keyed by the clip's
mesh files, the frame range and every rendering setting, so a second run (or another fold) never
renders again. With ``render.magnify`` a second, EVM-magnified version of each clip is made too
(the 4DME baseline's training-set duplication); the copies train with their original, never test.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.progress import progress_bar
from mer4d.data.cache import ArrayCache, file_stamps
from mer4d.data.spec import Modality
from mer4d.preprocess.mesh_views import MeshViewSettings
from mer4d.recipes.schema import RenderCfg

DYNAMIC = ArrayCache("dynamic", version=3)  # bump when the rendering or pooling code changes what a key produces


def mesh_settings(render: RenderCfg, frames: int) -> MeshViewSettings:
    """The recipe's ``render`` section and ``sampling.frames`` -> :class:`MeshViewSettings`."""
    given = {f.name: getattr(render, f.name) for f in fields(MeshViewSettings) if hasattr(render, f.name) and f.name not in ("size", "frames")}
    for key in ("views", "domains"):
        given[key] = tuple(given[key])
    return MeshViewSettings(**given, size=int(render.size), frames=int(frames))


def _keys(row: pd.Series, column: str, settings: MeshViewSettings, wanted: list[bool]) -> dict[bool, str]:
    """Cache keys of a clip's plain (False) and magnified (True) images; the folder is listed once."""
    from mer4d.data.readers import list_frames
    from mer4d.data.readers.mesh_seq import MESH_SUFFIXES

    first, last = int(row["onset"]), int(row["offset"])
    files = file_stamps(p for n, p in list_frames(row[column], MESH_SUFFIXES) if first <= n <= last)
    inputs = {"dir": str(Path(row[column]).resolve()), "files": files, "range": [first, last], "settings": asdict(settings)}
    return {m: DYNAMIC.key(**inputs, evm=m) for m in wanted}


def _make(row: pd.Series, column: str, settings: MeshViewSettings, magnify: bool) -> dict[bool, np.ndarray]:
    from mer4d.data.readers import read_mesh_seq
    from mer4d.preprocess.mesh_views import dynamic_images, prepare_clip, view_frames

    seq = read_mesh_seq(row[column], int(row["onset"]), int(row["offset"]), fps=float(row["fps"]))
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


def build_dynamic_images(index: pd.DataFrame, column: str, settings: MeshViewSettings, magnify: bool, progress: bool = True
                         ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Every clip's dynamic images (and magnified ones), from the cache or rendered and cached now."""
    plain: list[np.ndarray] = []
    boosted: list[np.ndarray] = []
    wanted = [False, True] if magnify else [False]
    for position in progress_bar(range(len(index)), desc="4D clips -> dynamic images", unit="clip", disable=not progress):
        row = index.iloc[position]  # the pipeline's file check has made sure every clip has its mesh files
        keys = _keys(row, column, settings, wanted)
        arrays = {m: DYNAMIC.load(k, what=f"clip {row['clip_id']}") for m, k in keys.items()}
        if any(a is None for a in arrays.values()):
            made = _make(row, column, settings, magnify)
            for m, k in keys.items():
                DYNAMIC.store(k, {"images": made[m]})
            arrays = {m: {"images": made[m]} for m in wanted}
        plain.append(arrays[False]["images"])
        if magnify:
            boosted.append(arrays[True]["images"])
    return plain, (boosted if magnify else None)


def mesh_stage(index: pd.DataFrame, modality: Modality, render: RenderCfg, frames: int, progress: bool):
    """Index (+ EVM copies when ``render.magnify``), a loader of (V, D, size, size) dynamic images, and a note."""
    settings = mesh_settings(render, frames)
    plain, boosted = build_dynamic_images(index, modality.column, settings, render.magnify, progress)
    arrays = plain
    index = index.assign(augmented_from=-1)
    note = f"views {'/'.join(settings.views)} x domains {'/'.join(settings.domains)} at {settings.size} px"
    if boosted is not None:
        copies = index.assign(clip_id=index["clip_id"] + "#evm", augmented_from=np.arange(len(index)))
        index, arrays = pd.concat([index, copies], ignore_index=True), plain + boosted
        note = "+ EVM-magnified training copies; " + note

    def load(position: int) -> np.ndarray:
        return arrays[position].copy()

    return index, load, note
