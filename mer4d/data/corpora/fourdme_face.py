"""4DME gray / RGB clips with the face aligned and cropped (``preprocess.face``), cached on disk.

Every clip's onset..offset frames are aligned once at load time by
:func:`mer4d.preprocess.face.prepare_face_clip` (one similarity from the onset landmarks, applied
to every frame) and stored as uint8 under ``<cache>/faces/``, keyed by the clip's frame files
(names, sizes, modification times), its landmark file and the face settings, written atomically;
a second run (or another fold) reads them back. Sampling and resizing to ``preprocess.size``
happen afterwards, in the clip loader.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mer4d.core.errors import DataError, RecipeError
from mer4d.data.corpora.fourdme import clip_range
from mer4d.preprocess.face import prepare_face_clip, resolve_source
from mer4d.synth.face import LANDMARK_FILE

log = logging.getLogger(__name__)
CACHE_VERSION = 1  # bump when the alignment code changes what a key produces


def face_settings(face: dict) -> dict:
    """``preprocess.face`` as a dict (keys it omits keep their defaults), checked against the recipe schema."""
    from pydantic import ValidationError

    from mer4d.recipes.schema import FaceCfg
    from mer4d.recipes.validation import describe_validation_error

    try:
        return FaceCfg.model_validate(face).model_dump()
    except ValidationError as exc:
        raise RecipeError(describe_validation_error(exc, "preprocess.face (see docs/recipes.md)")) from None


def face_cache_dir() -> Path:
    from mer4d.data.cache import cache_dir

    return cache_dir() / "faces"


def _stat(path: Path) -> list:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def clip_key(folder: Path, first: int, last: int, color: str, landmark_file: Path, source: str, settings: dict) -> str:
    """Hash of everything an aligned clip depends on; ``source`` is the concrete landmark source
    ("auto" resolved), so installing MediaPipe or adding a landmark file changes the key."""
    from mer4d.data.readers import list_frames

    files = [_stat(p) for n, p in list_frames(folder) if first <= n <= last]
    blob = json.dumps({"v": CACHE_VERSION, "dir": str(Path(folder).resolve()), "files": files, "range": [first, last], "color": color,
                       "landmarks": _stat(landmark_file) if landmark_file.is_file() else None, "source": source,
                       "crop": settings["crop"], "on_missing": settings["on_missing"]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an .npz via a temporary file and an atomic rename (a crash leaves nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path, crop: int) -> dict[str, np.ndarray]:
    """A stored clip, fully read and checked (a bad file is re-aligned, never trained on)."""
    with np.load(path, allow_pickle=False) as stored:
        out = {k: stored[k] for k in ("frames", "numbers", "source", "detail")}
    frames = out["frames"]
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-2:] != (crop, crop) or len(out["numbers"]) != len(frames):
        raise ValueError(f"unexpected content: frames {frames.dtype} {frames.shape}, {len(out['numbers'])} frame numbers")
    return out


class FaceClips:
    """The aligned uint8 clips of an Index, one cache file per row (made at construction, read on first use).

    Args:
        index: the 4DME Index.
        modality: "gray" or "rgb".
        settings: :func:`face_settings` output.
        scale: frame-number divisor of the modality (2 for the 30 fps Kinect frames).
        progress: show a tqdm bar while clips are aligned or checked.
    """

    def __init__(self, index: pd.DataFrame, modality: str, settings: dict, scale: int, progress: bool = True):
        self.index, self.modality, self.settings, self.scale = index, modality, settings, scale
        self.color = "gray" if modality == "gray" else "rgb"
        self.paths: list[Path] = []
        self.sources: list[str] = []
        self.details: list[str] = []
        base = face_cache_dir()
        for position in tqdm(range(len(index)), desc=f"4DME {modality} clips -> aligned faces", unit="clip", disable=not progress):
            folder, first, last, landmark_file = self._clip(position)
            source = resolve_source(settings["landmarks"], landmark_file)
            path = base / f"{clip_key(folder, first, last, self.color, landmark_file, source, settings)}.npz"
            self.paths.append(path)
            source, detail = self._ensure(position)
            self.sources.append(source)
            self.details.append(detail)

    def _clip(self, position: int) -> tuple[Path, int, int, Path]:
        row = self.index.iloc[position]
        folder = Path(row[f"{self.modality}_dir"])
        first, _, last = clip_range(row, self.scale)
        return folder, first, last, folder / LANDMARK_FILE  # may not exist: "auto" then detects landmarks

    def _ensure(self, position: int) -> tuple[str, str]:
        """Make sure the clip is cached; its (source, detail), read from the small members only
        (the frames are read once, by :meth:`read`, when training first asks for the clip)."""
        path = self.paths[position]
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as stored:  # npz members load lazily
                    return str(stored["source"]), str(stored["detail"])
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                pass  # _fetch says so and re-aligns
        stored = self._fetch(position)
        return str(stored["source"]), str(stored["detail"])

    def _fetch(self, position: int) -> dict[str, np.ndarray]:
        """The stored clip, or a fresh one (made and stored) when it is missing or unreadable."""
        path = self.paths[position]
        if path.exists():
            try:
                return _load(path, self.settings["crop"])
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                log.warning(f"face cache file {path} of clip {self.index['clip_id'].iat[position]} cannot be read ({exc}); aligning the clip again")
        made = self._make(position)
        _store(path, made)
        return made

    def _make(self, position: int) -> dict[str, np.ndarray]:
        from mer4d.data.readers import read_frames

        folder, first, last, landmark_file = self._clip(position)
        clip, numbers = read_frames(folder, first, last, color=self.color)
        face = prepare_face_clip(clip, 0, landmark_file=landmark_file, onset_frame=first, source=self.settings["landmarks"],
                                 crop=self.settings["crop"], on_missing=self.settings["on_missing"], clip_id=self.index["clip_id"].iat[position])
        if face.frames.dtype != np.uint8:
            raise DataError(f"face alignment of clip {self.index['clip_id'].iat[position]} returned {face.frames.dtype}, expected uint8")
        return {"frames": face.frames, "numbers": numbers, "source": np.array(face.source), "detail": np.array(face.detail)}

    def read(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, C, crop, crop) uint8 aligned frames and their (T,) frame numbers."""
        stored = self._fetch(position)
        return stored["frames"], stored["numbers"]


def face_corpus(index: pd.DataFrame, modality: str, face: dict, scale: int, progress: bool, origin: str
                ) -> tuple[pd.DataFrame, Callable[[int], tuple[np.ndarray, np.ndarray]], str]:
    """Index with a ``face_source`` column, a reader of aligned clips, and the description extended."""
    if modality not in ("gray", "rgb"):
        raise DataError(f"4DME: preprocess.face applies to the gray and rgb modalities, not {modality!r}; "
                        "set preprocess.face.enabled: false (depth and mesh clips are cropped in 3D)")
    settings = face_settings(face)
    clips = FaceClips(index, modality, settings, scale, progress)
    index = index.assign(face_source=clips.sources)
    counts = Counter(clips.sources)
    origin += f"; faces aligned to {settings['crop']} px ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
    fallback = [i for i, s in enumerate(clips.sources) if s == "fallback"]
    if fallback:
        for i in fallback:
            log.warning(f"face fallback (centre crop) for clip {index['clip_id'].iat[i]}: {clips.details[i]}")
        log.warning(f"4DME: face alignment fell back to a centre crop on {len(fallback)} of {len(index)} clip(s) (listed above)")
        origin += f", face fallback on {len(fallback)} clip(s)"
    return index, clips.read, origin
