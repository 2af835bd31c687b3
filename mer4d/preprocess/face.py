"""Face alignment and cropping of one 2D clip: onset landmarks -> one similarity -> every frame.

:func:`prepare_face_clip` picks the landmark source (``preprocess.face.landmarks``), aligns with
:func:`mer4d.preprocess.face_align.align_clip`'s rule (one transform from the onset) and, when no
face is found, either raises or centre-crops (``preprocess.face.on_missing``). A fallback is
reported in :attr:`FaceClip.source`; the caller logs and counts it, it is never silent.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer4d.core.errors import DataError, RecipeError, ShapeError
from mer4d.preprocess.face_align import Similarity, estimate_to_template, warp_clip
from mer4d.preprocess.face_landmarks import FaceNotFoundError, Landmarks, haar_landmarks, mediapipe_landmarks, read_landmark_file

SOURCES = ("auto", "dataset", "mediapipe", "haar")
ON_MISSING = ("error", "fallback")
RESULT_SOURCES = ("dataset", "mediapipe", "haar", "haar_box", "fallback")


@dataclass(frozen=True)
class FaceClip:
    """An aligned (or centre-cropped) clip.

    Attributes:
        frames: (T, crop, crop) or (T, C, crop, crop), the input's layout and dtype.
        similarity: image -> crop transform, None for a fallback.
        source: one of :data:`RESULT_SOURCES`: where the onset landmarks came from, or "fallback".
        detail: why a fallback happened (empty otherwise).
    """

    frames: np.ndarray
    similarity: Similarity | None
    source: str
    detail: str = ""


def resolve_source(source: str, landmark_file: str | Path | None = None) -> str:
    """The concrete landmark source "auto" stands for: the landmark file when it exists, else
    MediaPipe when importable, else Haar. Other values are returned as they are."""
    if source not in SOURCES:
        raise RecipeError(f"preprocess.face.landmarks must be one of {', '.join(SOURCES)}, got {source!r}")
    if source != "auto":
        return source
    if landmark_file is not None and Path(landmark_file).is_file():
        return "dataset"
    return "mediapipe" if importlib.util.find_spec("mediapipe") is not None else "haar"


def onset_landmarks(image: np.ndarray, source: str, landmark_file: str | Path | None, frame: int) -> Landmarks:
    """Landmarks of the onset ``image`` ((H, W) gray or (H, W, 3) RGB) from a concrete ``source``."""
    import cv2

    if source == "dataset":
        if landmark_file is None or not Path(landmark_file).is_file():
            raise DataError(f"preprocess.face.landmarks is 'dataset' but the clip has no landmark file ({landmark_file or 'none given'}); "
                            "expected a landmarks.csv (frame,name,x,y) in the clip's frame folder. Fix: set preprocess.face.landmarks: auto")
        return read_landmark_file(landmark_file, frame)
    if source == "mediapipe":
        return mediapipe_landmarks(image)
    gray = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return haar_landmarks(gray)


def centre_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """The centred square of every (H, W) frame of (T, H, W) ``frames``, resized to ``size``."""
    import cv2

    h, w = frames.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    flag = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(np.ascontiguousarray(f[top: top + side, left: left + side]), (size, size), interpolation=flag) for f in frames])


def prepare_face_clip(
    frames: np.ndarray,
    onset_index: int,
    *,
    landmark_file: str | Path | None = None,
    onset_frame: int | None = None,
    source: str = "auto",
    crop: int = 150,
    on_missing: str = "fallback",
    clip_id: str = "",
) -> FaceClip:
    """Align and crop a clip on its onset frame's landmarks (``algorithms.md`` §13).

    Args:
        frames: (T, H, W) gray or (T, C, H, W) with C = 1 or 3 (RGB); any dtype cv2 warps (uint8, float32).
        onset_index: position of the onset frame in ``frames``.
        landmark_file: the clip's ``landmarks.csv`` (frame,name,x,y), if any.
        onset_frame: the onset's absolute frame number, to look it up in ``landmark_file``
            (default: ``onset_index``).
        source: "auto", "dataset", "mediapipe" or "haar" (see :func:`resolve_source`). Colour
            clips are searched on their gray conversion (MediaPipe gets the RGB frame); the
            transform found is applied to every channel.
        crop: side of the output in pixels.
        on_missing: "error" raises when no face is found; "fallback" centre-crops and resizes,
            with ``source="fallback"``.
        clip_id: named in messages.

    Raises:
        ShapeError: ``frames`` is not (T, H, W) or (T, C, H, W) with C in {1, 3}.
        FaceNotFoundError: no face / too few landmarks on the onset and ``on_missing="error"``.
        DataError: a malformed landmark file, or ``source="dataset"`` without one.
        MissingDependencyError: ``source="mediapipe"`` without mediapipe installed.
    """
    if on_missing not in ON_MISSING:
        raise RecipeError(f"preprocess.face.on_missing must be 'error' or 'fallback', got {on_missing!r}")
    if isinstance(crop, bool) or not isinstance(crop, (int, np.integer)) or crop < 2:
        raise RecipeError(f"preprocess.face.crop must be an integer number of pixels >= 2, got {crop!r}")
    planar = getattr(frames, "ndim", None) == 3
    if not (planar or (getattr(frames, "ndim", None) == 4 and frames.shape[1] in (1, 3))) or frames.shape[0] == 0:
        raise ShapeError(f"prepare_face_clip{f' ({clip_id})' if clip_id else ''}: expected frames (T, H, W) or (T, C, H, W) with C = 1 or 3 "
                         f"and T >= 1, got shape {getattr(frames, 'shape', None)}", "T [C] H W", getattr(frames, "shape", None))
    if not 0 <= onset_index < frames.shape[0]:
        raise DataError(f"prepare_face_clip ({clip_id}): onset_index {onset_index} is outside the clip's {frames.shape[0]} frames")
    clip = frames[:, None] if planar else frames
    onset = clip[onset_index]
    image = onset[0] if onset.shape[0] == 1 else np.ascontiguousarray(onset.transpose(1, 2, 0))
    frame = onset_index if onset_frame is None else int(onset_frame)
    concrete = resolve_source(source, landmark_file)
    try:
        landmarks = onset_landmarks(image, concrete, landmark_file, frame)
        try:
            similarity = estimate_to_template(landmarks.points, crop)
        except DataError as exc:  # too few or degenerate landmarks: as good as no face
            raise FaceNotFoundError(str(exc)) from exc
    except FaceNotFoundError as exc:
        reason = f"no usable face on the onset (frame {frame}) of clip {clip_id or '?'} with landmarks '{concrete}': {exc}"
        if on_missing == "error":
            raise FaceNotFoundError(f"{reason}. Fix: set preprocess.face.on_missing: fallback (centre crop, counted), "
                                    "or provide a landmarks.csv (frame,name,x,y in pixels) in the clip's frame folder") from exc
        out = np.stack([centre_crop(clip[:, c], crop) for c in range(clip.shape[1])], axis=1)
        return FaceClip(out[:, 0] if planar else out, None, "fallback", reason)
    out = np.stack([warp_clip(np.ascontiguousarray(clip[:, c]), similarity, crop) for c in range(clip.shape[1])], axis=1)
    return FaceClip(out[:, 0] if planar else out, similarity, landmarks.source)
