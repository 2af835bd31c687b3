"""Video-file clips read with OpenCV; frame numbers are 0-based indices into the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mer4d.core.errors import DataError
from mer4d.data.readers.frames import check_color, to_chw


def read_video(path: str | Path, first: int | None = None, last: int | None = None, color: str = "gray") -> tuple[np.ndarray, np.ndarray]:
    """Read frames ``first..last`` (0-based, inclusive) of a video file.

    Frames are decoded sequentially from the start rather than by seeking, because
    ``CAP_PROP_POS_FRAMES`` seeks are inexact for many codecs (they land on a key frame) and the
    container's frame count can be wrong; reading is the only reliable count.

    Args:
        path: a video file OpenCV can decode (avi, mp4, ...).
        first, last: 0-based frame indices (inclusive); None means the first / last frame.
        color: "gray" (C = 1) or "rgb" (C = 3).

    Returns:
        frames: (T, C, H, W) uint8.
        numbers: (T,) int64 frame indices ``first..last``.

    Raises:
        DataError: the file is missing or cannot be opened, the range is negative or reversed, or it
            goes past the last decodable frame (the message gives the frame count).
        RecipeError: ``color`` is not "gray" or "rgb".
    """
    check_color(color)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"video file {path} does not exist; check the dataset root and the clip name")
    lo = 0 if first is None else int(first)
    if lo < 0 or (last is not None and int(last) < lo):
        raise DataError(f"video {path}: bad frame range first={first}, last={last}; expected 0 <= first <= last (0-based indices)")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(f"video {path} cannot be opened by OpenCV: the file is corrupt or its codec is not supported; convert it (e.g. to MJPG .avi or H.264 .mp4)")
        frames: list[np.ndarray] = []
        index = 0
        while last is None or index <= int(last):
            # grab() skips the colour conversion for frames before the range.
            if not capture.grab():
                break
            if index >= lo:
                ok, image = capture.retrieve()
                if not ok or image is None:
                    raise DataError(f"video {path}: frame {index} cannot be decoded; the file may be truncated or corrupt")
                frames.append(to_chw(image, color))
            index += 1
    finally:
        capture.release()
    if not frames or (last is not None and index <= int(last)):
        wanted = f"{lo}-{last}" if last is not None else f"{lo}-end"
        count = f"{index} frames (0-{index - 1})" if index else "no decodable frame"
        raise DataError(f"video {path}: requested frames {wanted} but the file has {count}; frame numbers of videos are 0-based")
    return np.stack(frames), np.arange(lo, lo + len(frames), dtype=np.int64)
