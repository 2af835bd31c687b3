"""Image-folder clips: list frame files by the number in their names and read a range of them.

Dataset rule (``datasets.md`` §0): never build file names from a template. Zero padding differs
between datasets, between clips of one dataset and between releases, so a folder is listed, the
frame number is the *last run of digits* in each file stem (``img0011.jpg`` -> 11,
``Frame_000002490.jpg`` -> 2490) and files are sorted by that number. Annotation numbers are
absolute frame numbers, so a range ``[first, last]`` selects by number, not by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from mer4d.core.errors import DataError, RecipeError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".png")
COLORS = ("gray", "rgb")
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def frame_number(path: Path) -> int | None:
    """The last run of digits in ``path``'s stem as an int, or None when the stem has no digit."""
    match = _LAST_DIGITS.search(Path(path).stem)
    return int(match.group(1)) if match else None


def list_frames(folder: str | Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[tuple[int, Path]]:
    """Frame files of a folder as ``(number, path)`` pairs sorted by number.

    Hidden files (names starting with ``.``, e.g. macOS ``._img1.jpg`` copies) are skipped, as are
    files whose suffix (case-insensitive) is not in ``suffixes``.

    Args:
        folder: the clip folder.
        suffixes: lower-case file suffixes to keep (images by default).

    Returns:
        list of (frame number, path), sorted by frame number.

    Raises:
        DataError: the folder is missing or holds no such files, a file name has no digits, or two
            files carry the same frame number (both are named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"frame folder {folder} {what}; expected a folder of {'/'.join(s[1:] for s in suffixes)} frame files")
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in suffixes or not path.is_file():
            continue
        number = frame_number(path)
        if number is None:
            raise DataError(
                f"frame file {path} has no digits in its name, so its frame number is unknown; frame files must carry "
                "their frame number (e.g. img0011.jpg). Rename or move the file."
            )
        if number in found:
            raise DataError(
                f"frame folder {folder}: files {found[number].name} and {path.name} both have frame number {number}; "
                "keep one of them (frame numbers are the last run of digits in the name)"
            )
        found[number] = path
    if not found:
        raise DataError(f"frame folder {folder} holds no {'/'.join(s[1:] for s in suffixes)} files; check the dataset root and clip path")
    return sorted(found.items())


def format_numbers(numbers: Iterable[int], limit: int = 8) -> str:
    """Compact text for frame numbers: ``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (at most ``limit`` runs)."""
    runs: list[tuple[int, int]] = []
    for n in sorted(int(v) for v in numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        text.append(f"... ({len(runs) - limit} more runs)")
    return ", ".join(text)


def select_frames(
    listing: list[tuple[int, Path]], first: int | None, last: int | None, source: str | Path, allow_gaps: bool = False
) -> list[tuple[int, Path]]:
    """The entries of ``listing`` numbered in ``[first, last]`` (absolute frame numbers, inclusive).

    Args:
        listing: sorted ``(number, path)`` pairs, as from :func:`list_frames`.
        first, last: the range; None means the first / last available number.
        source: the folder or file named in error messages.
        allow_gaps: skip missing numbers instead of raising (some corpora drop frames).

    Raises:
        DataError: ``first > last``, nothing is in the range, or (unless ``allow_gaps``) some numbers
            in the range have no file; the message lists the missing and the available numbers.
    """
    available = [n for n, _ in listing]
    lo = available[0] if first is None else int(first)
    hi = available[-1] if last is None else int(last)
    if lo > hi:
        raise DataError(f"{source}: first frame {lo} is after last frame {hi}; check the onset/offset annotation")
    chosen = [(n, p) for n, p in listing if lo <= n <= hi]
    span = f"{source} holds frames {format_numbers(available)} ({len(available)} files)"
    if not chosen:
        raise DataError(f"{source}: no frame in the requested range {lo}-{hi}; {span}. Frame numbers are absolute (as in the file names).")
    if not allow_gaps and len(chosen) != hi - lo + 1:
        have = {n for n, _ in chosen}
        missing = [n for n in range(lo, hi + 1) if n not in have]
        raise DataError(
            f"{source}: frames {format_numbers(missing)} of the requested range {lo}-{hi} are missing; {span}. "
            "Fix the range, restore the files, or pass allow_gaps=True to skip them."
        )
    return chosen


def check_color(color: str) -> int:
    """Channel count C of a colour mode ("gray" -> 1, "rgb" -> 3); other values raise RecipeError."""
    if color not in COLORS:
        raise RecipeError(f"color must be one of {', '.join(repr(c) for c in COLORS)}, got {color!r}")
    return 1 if color == "gray" else 3


def to_chw(image: np.ndarray, color: str) -> np.ndarray:
    """An OpenCV image (H, W) gray or (H, W, 3) BGR -> (C, H, W) uint8 in the ``color`` mode."""
    if image.ndim == 2:
        image = image[:, :, None] if color == "gray" else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif color == "gray":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, None]
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def read_frames(
    folder: str | Path, first: int | None = None, last: int | None = None, color: str = "gray", allow_gaps: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Read the frames numbered ``first..last`` of an image-folder clip.

    Args:
        folder: folder of jpg/jpeg/bmp/png frames named with their frame numbers.
        first, last: absolute frame numbers (inclusive); None means the first / last file.
        color: "gray" (C = 1) or "rgb" (C = 3).
        allow_gaps: skip missing frame numbers instead of raising.

    Returns:
        frames: (T, C, H, W) uint8.
        numbers: (T,) int64 frame numbers of those frames.

    Raises:
        DataError: see :func:`list_frames` and :func:`select_frames`; also an unreadable or corrupt
            image, or a frame whose size differs from the first one (file and frame number named).
        RecipeError: ``color`` is not "gray" or "rgb".
    """
    check_color(color)
    chosen = select_frames(list_frames(folder), first, last, folder, allow_gaps)
    flag = cv2.IMREAD_GRAYSCALE if color == "gray" else cv2.IMREAD_COLOR


    def read(number: int, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), flag)
        if image is None:
            raise DataError(f"frame {number} ({path}) cannot be read as an image: the file is corrupt, empty or not a {path.suffix} image")
        return to_chw(image, color)

    return stack_frames(chosen, read, np.uint8)


def stack_frames(chosen: list[tuple[int, Path]], read: Callable[[int, Path], np.ndarray], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Read ``chosen`` (number, path) frames with ``read`` into one (T, ...) array, plus the numbers.

    The array is allocated once from the first frame (clips hold hundreds of frames); a frame
    whose size differs from the first raises :class:`DataError` naming both.
    """
    frames: np.ndarray | None = None
    for t, (number, path) in enumerate(chosen):
        image = read(number, path)
        if frames is None:
            frames = np.empty((len(chosen), *image.shape), dtype=dtype)
        elif image.shape != frames.shape[1:]:
            raise DataError(
                f"frame {number} ({path}) is {image.shape[-1]}x{image.shape[-2]} (WxH) but frame {chosen[0][0]} ({chosen[0][1].name}) "
                f"is {frames.shape[-1]}x{frames.shape[-2]}; all frames of a clip must have the same size"
            )
        frames[t] = image
    if frames is None:
        raise DataError("no frames were selected")  # select_frames never returns an empty list
    return frames, np.array([n for n, _ in chosen], dtype=np.int64)
