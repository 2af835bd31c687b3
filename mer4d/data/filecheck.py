"""Check that the files an Index points at exist and open, before anything trains on them.

``deep=False`` (``mer4d run``): every clip's folder exists and holds every frame between onset and
offset, and no frame file is empty. ``deep=True`` (``mer4d data check``): additionally every file
that a run would read is decoded: an undecodable image, a depth image that is not 16-bit and a
truncated, garbage or NaN-holding mesh are problems naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.data.problems import Problem
from mer4d.data.readers.frames import format_numbers, list_frames
from mer4d.data.spec import DatasetSpec, Modality

MESH_SUFFIXES = (".obj", ".ply")


def check_clip_files(index: pd.DataFrame, modalities: Mapping[str, Modality], *, deep: bool = False, progress: bool = False,
                     optional: tuple[str, ...] = ()) -> list[Problem]:
    """Problems of every clip and modality in ``modalities`` (fatal: the clip cannot be read).

    A clip without a folder of a modality in ``optional`` gets a warning instead (``mer4d data
    check`` looks at every modality, but only the one a run reads must be there).
    """
    problems: list[Problem] = []
    rows = list(index.itertuples(index=False))
    for row in progress_bar(rows, desc="checking files" + (" (decoding every frame)" if deep else ""), unit="clip", disable=not progress):
        for name, modality in modalities.items():
            problems += _clip_problems(row, name, modality, deep, name in optional)
    return problems


def check_dataset(spec: DatasetSpec, root: Path, params: Mapping[str, object], *, deep: bool = True, progress: bool = False,
                  seed: int = 0) -> tuple[pd.DataFrame, list[Problem]]:
    """``mer4d data check``: the spec's scan plus every file of every modality (decoded when ``deep``).

    The default modality must be there for every clip; the others are optional (warnings).
    """
    index, problems = spec.run_scan(root, seed, **params)
    problems += check_clip_files(index, {spec.default_modality: spec.modality(None)}, deep=deep, progress=progress)
    for name, modality in spec.modalities.items():
        if name == spec.default_modality or modality.column == spec.modality(None).column or modality.column not in index:
            continue
        has = index[modality.column].notna()
        if has.any() and not has.all():  # one line, not one per clip: e.g. 4DME macro clips with gray frames only
            problems.append(Problem("warning", f"{name} frames", "", f"{int((~has).sum())} of {len(index)} clip(s) have no {name} folder "
                                    f"(e.g. {index.loc[~has, 'clip_id'].iat[0]}); runs with dataset.modality: {name} need it"))
        problems += check_clip_files(index[has], {name: modality}, deep=deep, progress=progress)
    return index, problems


def _clip_problems(row, name: str, modality: Modality, deep: bool, optional: bool = False) -> list[Problem]:
    folder = getattr(row, modality.column, None)
    clip = row.clip_id
    if folder is None or (isinstance(folder, float) and folder != folder):
        return [Problem("warning" if optional else "fatal", f"{name} frames", clip, f"no {name} folder on disk for this label row (subject {row.subject}); "
                        "restore the folder or remove the row")]
    suffixes = MESH_SUFFIXES if modality.reader == "mesh" else (".png",) if modality.reader == "depth" else None
    try:
        listing = list_frames(folder) if suffixes is None else list_frames(folder, suffixes)
    except DataError as exc:
        return [Problem("fatal", str(folder), clip, str(exc))]
    first, last = -(-int(row.onset) // modality.scale), int(row.offset) // modality.scale
    numbers = {n for n, _ in listing}
    missing = sorted(set(range(first, last + 1)) - numbers)
    out = []
    if missing:
        out.append(Problem("fatal", str(folder), clip, f"{len(missing)} frame(s) between onset {row.onset} and offset {row.offset} are missing: "
                           f"{format_numbers(missing)}"))
    for number, path in listing:
        if first <= number <= last:
            reason = _file_problem(path, modality) if deep else ("empty file (0 bytes)" if path.stat().st_size == 0 else None)
            if reason:
                out.append(Problem("fatal", str(path), clip, reason))
    return out


def _file_problem(path: Path, modality: Modality) -> str | None:
    """Why ``path`` cannot be read as ``modality``, or None."""
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    if modality.reader == "mesh":
        return _mesh_problem(path)
    import cv2

    flag = cv2.IMREAD_UNCHANGED if modality.reader == "depth" else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        return "not a decodable image (truncated or not an image file)"
    if modality.reader == "depth" and (image.dtype != np.uint16 or image.ndim != 2):
        return f"depth image is {image.dtype} with {1 if image.ndim == 2 else image.shape[2]} channel(s); expected 16-bit single-channel PNG in millimetres"
    return None


def _mesh_problem(path: Path) -> str | None:
    from mer4d.data.readers.frames import frame_number
    from mer4d.data.readers.mesh_seq import read_mesh_seq

    number = frame_number(path)
    try:
        seq = read_mesh_seq(path.parent, first=number, last=number)
    except DataError as exc:
        return str(exc)
    except Exception as exc:  # a parser error from trimesh on garbage bytes
        return f"not a readable mesh ({type(exc).__name__}: {exc})"
    bad = ~np.isfinite(seq.vertices).all(axis=-1)
    if bad.any():
        where = np.flatnonzero(bad.reshape(-1))[:5].tolist()
        return f"{int(bad.sum())} vertex(es) with NaN/inf coordinates (vertex indices {where}{' ...' if bad.sum() > 5 else ''})"
    if len(seq.vertices.reshape(-1, 3)) == 0:
        return "mesh has no vertices"
    return None
