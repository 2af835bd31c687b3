"""The face stage (``preprocess.face``): gray / RGB clips aligned and cropped once, cached on disk.

Every clip's onset..offset frames are aligned by :func:`mer4d.preprocess.face.prepare_face_clip`
(one similarity from the onset landmarks, applied to every frame) and stored as uint8 in the
``faces`` area of :mod:`mer4d.data.cache`, keyed by the clip's frame files, its landmark file, the
concrete landmark source and the face settings; a second run (or another fold) reads them back.
Sampling and resizing to ``preprocess.size`` happen afterwards, in the frame stage.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.data.cache import ArrayCache, file_stamps
from mer4d.data.readers.landmarks import LANDMARK_FILE
from mer4d.data.spec import Modality
from mer4d.pipeline.frames import ReadClip, clip_range
from mer4d.preprocess.face import prepare_face_clip, resolve_source
from mer4d.recipes.schema import FaceCfg

log = logging.getLogger(__name__)
FACES = ArrayCache("faces", version=2)  # bump when the alignment code changes what a key produces


class FaceClips:
    """The aligned uint8 clips of an Index, one cache entry per row (made at construction, read on first use)."""

    def __init__(self, index: pd.DataFrame, modality: Modality, settings: FaceCfg, progress: bool = True):
        if modality.reader != "frames":
            raise DataError(f"preprocess.face applies to image frames (gray, rgb), not the {modality.reader} modality; "
                            "set preprocess.face.enabled: false (depth and mesh clips are cropped in 3D)")
        self.index, self.modality, self.settings = index, modality, settings
        self.keys: list[str] = []
        self.sources: list[str] = []
        self.details: list[str] = []
        for position in progress_bar(range(len(index)), desc=f"{modality.color} clips -> aligned faces", unit="clip", disable=not progress):
            self.keys.append(self._key(position))
            found = FACES.peek(self.keys[-1], ("source", "detail")) or self._fetch(position)
            self.sources.append(str(found["source"]))
            self.details.append(str(found["detail"]))

    def _clip(self, position: int) -> tuple[Path, int, int, Path]:
        row = self.index.iloc[position]
        folder = Path(row[self.modality.column])
        first, _, last = clip_range(row, self.modality.scale)
        return folder, first, last, folder / LANDMARK_FILE  # may not exist: "auto" then detects landmarks

    def _key(self, position: int) -> str:
        from mer4d.data.readers import list_frames

        folder, first, last, landmark_file = self._clip(position)
        # The concrete source ("auto" resolved): installing MediaPipe or adding a landmark file changes the key.
        source = resolve_source(self.settings.landmarks, landmark_file)
        return FACES.key(dir=str(folder.resolve()), files=file_stamps(p for n, p in list_frames(folder) if first <= n <= last), range=[first, last],
                         color=self.modality.color, landmarks=file_stamps([landmark_file])[0] if landmark_file.is_file() else None,
                         source=source, crop=self.settings.crop, on_missing=self.settings.on_missing)

    def _check(self, stored: dict[str, np.ndarray]) -> None:
        frames, crop = stored["frames"], self.settings.crop
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-2:] != (crop, crop) or len(stored["numbers"]) != len(frames):
            raise ValueError(f"unexpected content: frames {frames.dtype} {frames.shape}, {len(stored['numbers'])} frame numbers")

    def _fetch(self, position: int) -> dict[str, np.ndarray]:
        return FACES.get_or_make(self.keys[position], lambda: self._make(position), self._check, f"clip {self.index['clip_id'].iat[position]}")

    def _make(self, position: int) -> dict[str, np.ndarray]:
        from mer4d.data.readers import read_frames

        folder, first, last, landmark_file = self._clip(position)
        clip, numbers = read_frames(folder, first, last, color=self.modality.color)
        face = prepare_face_clip(clip, 0, landmark_file=landmark_file, onset_frame=first, source=self.settings.landmarks,
                                 crop=self.settings.crop, on_missing=self.settings.on_missing, clip_id=self.index["clip_id"].iat[position])
        if face.frames.dtype != np.uint8:
            raise DataError(f"face alignment of clip {self.index['clip_id'].iat[position]} returned {face.frames.dtype}, expected uint8")
        return {"frames": face.frames, "numbers": numbers, "source": np.array(face.source), "detail": np.array(face.detail)}

    def read(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, C, crop, crop) uint8 aligned frames and their (T,) frame numbers."""
        stored = self._fetch(position)
        return stored["frames"], stored["numbers"]


def face_stage(index: pd.DataFrame, modality: Modality, settings: FaceCfg, progress: bool) -> tuple[pd.DataFrame, ReadClip, str]:
    """Index with a ``face_source`` column, a reader of aligned clips, and a note for the banner."""
    clips = FaceClips(index, modality, settings, progress)
    index = index.assign(face_source=clips.sources)
    counts = Counter(clips.sources)
    note = f"faces aligned to {settings.crop} px ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
    fallback = [i for i, s in enumerate(clips.sources) if s == "fallback"]
    if fallback:
        for i in fallback:
            log.warning(f"face fallback (centre crop) for clip {index['clip_id'].iat[i]}: {clips.details[i]}")
        log.warning(f"face alignment fell back to a centre crop on {len(fallback)} of {len(index)} clip(s) (listed above)")
        note += f", face fallback on {len(fallback)} clip(s)"
    return index, clips.read, note
