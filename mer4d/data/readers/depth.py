"""Depth clips: folders of 16-bit PNG frames or one ``.npy`` array, in millimetres.

Depth cameras (CAS(ME)^3's Kinect-type sensor, 4DME's Kinect) store one 16-bit PNG per frame
whose values are millimetres, with 0 where the sensor got no return. A 0 mm depth is physically
impossible, so 0 becomes NaN: a model or a filter must not mistake "no data" for "very close".
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mer4d.core.errors import DataError
from mer4d.data.readers.frames import list_frames, select_frames, stack_frames

DEPTH_SUFFIXES = (".png", ".tif", ".tiff")


def read_depth(folder_or_file: str | Path, first: int | None = None, last: int | None = None, allow_gaps: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Read a depth clip in millimetres, with missing measurements as NaN.

    Args:
        folder_or_file: a folder of 16-bit single-channel PNG (or TIFF) frames named with their frame
            numbers (see :func:`mer4d.data.readers.list_frames`), or a ``.npy`` file holding a
            (T, H, W) numeric array in millimetres.
        first, last: frame numbers (inclusive): absolute numbers from the file names for a folder,
            0-based indices along T for a ``.npy``; None means the first / last frame.
        allow_gaps: for a folder, skip missing frame numbers instead of raising.

    Returns:
        depth: (T, 1, H, W) float32 millimetres; 0 in the input becomes NaN.
        numbers: (T,) int64 frame numbers.

    Raises:
        DataError: the path is missing or of another kind; a PNG is 8-bit or has several channels
            (depth must be 16-bit single-channel) or cannot be read; frame sizes differ; the
            ``.npy`` is unreadable or not (T, H, W) numeric; the range has no frames or has gaps.
    """
    path = Path(folder_or_file)
    if path.is_file() and path.suffix.lower() == ".npy":
        depth, numbers = _read_npy(path, first, last)
    elif path.is_dir():
        depth, numbers = _read_folder(path, first, last, allow_gaps)
    elif path.exists():
        raise DataError(f"depth input {path} is a {path.suffix or 'suffix-less'} file; expected a folder of 16-bit PNG frames or a .npy array (T, H, W) in mm")
    else:
        raise DataError(f"depth input {path} does not exist; expected a folder of 16-bit PNG frames or a .npy array (T, H, W) in mm")
    depth[depth == 0] = np.nan
    return depth[:, None], numbers


def _read_folder(folder: Path, first: int | None, last: int | None, allow_gaps: bool) -> tuple[np.ndarray, np.ndarray]:
    chosen = select_frames(list_frames(folder, DEPTH_SUFFIXES), first, last, folder, allow_gaps)

    def read(number: int, path: Path) -> np.ndarray:
        # IMREAD_UNCHANGED keeps the 16 bits; the default flag would squash them to 8.
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise DataError(f"depth frame {number} ({path}) cannot be read: the file is corrupt, empty or not an image")
        if image.dtype != np.uint16 or image.ndim != 2:
            kind = f"{image.dtype.itemsize * 8}-bit {image.dtype}" + (f" with {image.shape[2]} channels" if image.ndim == 3 else "")
            raise DataError(
                f"depth frame {number} ({path}) is {kind}; depth must be 16-bit single-channel (values in millimetres). "
                "An 8-bit or colour PNG is a visualisation of depth, not the measurement; use the raw depth export."
            )
        return image

    return stack_frames(chosen, read, np.float32)


def _read_npy(path: Path, first: int | None, last: int | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        # mmap: only the selected frames are read from disk.
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"depth array {path} cannot be loaded as a .npy file ({exc}); re-save it with numpy.save") from exc
    if array.ndim != 3 or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"depth array {path} has shape {array.shape} and dtype {array.dtype}; expected a numeric (T, H, W) array in millimetres")
    count = array.shape[0]
    lo = 0 if first is None else int(first)
    hi = count - 1 if last is None else int(last)
    if not 0 <= lo <= hi < count:
        raise DataError(
            f"depth array {path}: requested frames {lo}-{hi} but it holds {count} frames "
            f"(0-based indices 0-{count - 1} along the first axis); expected 0 <= first <= last < T"
        )
    return np.array(array[lo:hi + 1], dtype=np.float32), np.arange(lo, hi + 1, dtype=np.int64)
