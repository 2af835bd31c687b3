"""The frame stage: a clip's image or depth frames -> sampled, resized (C, T, size, size) float32.

Any dataset with a ``frames`` or ``depth`` modality gets it: the modality says which Index column
holds the folder, gray or RGB, and how its file numbers relate to the annotation's
(:class:`mer4d.data.spec.Modality`). A face stage (:mod:`mer4d.pipeline.faces`) may replace the
reading of the frames with aligned crops; sampling and resizing stay here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mer4d.data.spec import Modality
from mer4d.recipes.schema import SamplingCfg

ReadClip = Callable[[int], tuple[np.ndarray, np.ndarray]]  # position -> (frames (T, C, H, W), numbers (T,))


def clip_range(row: pd.Series, scale: int) -> tuple[int, int, int]:
    """(first, apex, last) file frame numbers of a clip whose files are numbered ``annotation // scale``.

    With 4DME's 30 fps Kinect (scale 2), file m shows annotation frame 2m, so the files inside
    onset..offset are ceil(onset / 2)..floor(offset / 2) (onset // 2 is missing when the onset is odd).
    """
    first, last = -(-int(row["onset"]) // scale), int(row["offset"]) // scale
    return first, min(max(int(row["apex"]) // scale, first), last), last


def frame_reader(index: pd.DataFrame, modality: Modality) -> ReadClip:
    """Reads a row's onset..offset frames from its folder (depth in millimetres, holes as 0)."""
    from mer4d.data.readers import read_depth, read_frames

    def read(position: int) -> tuple[np.ndarray, np.ndarray]:
        row = index.iloc[position]
        first, _, last = clip_range(row, modality.scale)
        if modality.reader == "depth":
            clip, numbers = read_depth(row[modality.column], first, last)
            return np.nan_to_num(clip, nan=0.0), numbers
        return read_frames(row[modality.column], first, last, color=modality.color)

    return read


def frame_loader(index: pd.DataFrame, modality: Modality, sampling: SamplingCfg, size: int, read_clip: ReadClip) -> Callable[[int], np.ndarray]:
    """Row position -> (C, frames, size, size) float32 (intensities / 255; depth centred, in decimetres)."""
    import cv2

    from mer4d.preprocess.sampling import sample_clip

    # Sampled clips are small (C x frames x size^2); decoding the files again every epoch is not.
    cache: dict[int, np.ndarray] = {}

    def load(position: int) -> np.ndarray:
        if position not in cache:
            cache[position] = make(position)
        return cache[position].copy()  # callers may not change the cached array

    def make(position: int) -> np.ndarray:
        first, apex, last = clip_range(index.iloc[position], modality.scale)
        clip, numbers = read_clip(position)
        # The files read are onset..offset, so the clip's last frame stands for the offset.
        sampled = sample_clip(clip.astype(np.float32), numbers, sampling.strategy, sampling.frames, onset=first, apex=apex, offset=int(numbers[-1]))
        t, c = sampled.shape[:2]
        if sampled.shape[2:] != (size, size):  # a face crop of preprocess.size is used as it is
            sampled = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in sampled.reshape(t * c, *sampled.shape[2:])])
        resized = sampled.reshape(t, c, size, size).transpose(1, 0, 2, 3)
        if modality.reader == "depth":  # millimetres -> zero-mean within the face, metres scale
            valid = resized > 0
            centre = resized[valid].mean() if valid.any() else 0.0
            return np.where(valid, (resized - centre) / 100.0, 0.0).astype(np.float32)
        return (resized / 255.0).astype(np.float32)

    return load
