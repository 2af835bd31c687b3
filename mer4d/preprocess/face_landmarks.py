"""Onset-frame landmarks for face alignment: a dataset's landmark file, MediaPipe FaceMesh, or Haar.

Every source returns :class:`Landmarks`: pixel ``(x, y)`` positions named as in
:data:`mer4d.geometry.template.LANDMARK_NAMES` ("eye_inner_left", "nose_tip", ...) plus
"eye_centre_left" / "eye_centre_right". "left" is always the SUBJECT's left, which is on the image
right in a frontal (unmirrored) view. Models are the ones shipped inside the wheels
(``algorithms.md`` §13): OpenCV's Haar cascades, MediaPipe <= 0.10.21's FaceMesh; nothing is
downloaded.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mer4d.core.errors import DataError, MissingDependencyError, ShapeError
from mer4d.core.optional import require
from mer4d.data.readers.landmarks import LANDMARK_COLUMNS

# MediaPipe FaceMesh indices (canonical face model). MediaPipe names 33/133 the "right" eye: the
# subject's right, seen on the image left in an unmirrored photo, which matches our convention.
MEDIAPIPE_INDICES = {
    "eye_outer_right": 33, "eye_inner_right": 133, "eye_inner_left": 362, "eye_outer_left": 263,
    "nose_tip": 1, "nose_bridge": 168,
}
# Eye centres implied by a Haar frontalface_default box, as fractions of its width / height: eyes
# found at x ~0.25 / 0.72 and y 0.37 (skimage's astronaut) to 0.45 (simulator faces) of the box.
HAAR_BOX_EYES = {"eye_centre_right": (0.27, 0.40), "eye_centre_left": (0.73, 0.40)}


class FaceNotFoundError(DataError):
    """No face (or too few landmarks) was found on a frame."""


@dataclass(frozen=True)
class Landmarks:
    """Named 2-D landmarks of one image.

    Attributes:
        points: name -> (x, y) pixel position (column, row; integers at pixel centres).
        source: "dataset", "mediapipe", "haar" (eyes found by the eye cascade) or "haar_box" (eye
            positions implied by the face box because the eye cascade found no pair).
        box: the detected face box (x, y, w, h) in pixels, or None.
    """

    points: Mapping[str, tuple[float, float]]
    source: str
    box: tuple[int, int, int, int] | None = field(default=None)


def _gray_uint8(image: np.ndarray, who: str) -> np.ndarray:
    if getattr(image, "ndim", None) != 2:
        raise ShapeError(f"{who}: expected a gray image of shape (H, W), got shape {getattr(image, 'shape', None)}; "
                         "convert colour images with cv2.cvtColor(..., cv2.COLOR_RGB2GRAY) first", "H W", getattr(image, "shape", None))
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    image = np.asarray(image, dtype=np.float64)
    if np.nanmax(image) <= 1.0:  # float images in [0, 1]
        image = image * 255.0
    return np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8)


def read_landmark_file(path: str | Path, frame: int) -> Landmarks:
    """The landmarks of frame number ``frame`` from a ``frame,name,x,y`` CSV (pixels, absolute frame numbers).

    Raises:
        DataError: the file is missing, lacks a column, or a row has a bad value or repeats a
            (frame, name) pair; the file and line are named.
        FaceNotFoundError: the file has no row for ``frame``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"landmark file {path} does not exist; expected a CSV with columns {','.join(LANDMARK_COLUMNS)} (pixels)")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in LANDMARK_COLUMNS if c not in header]
        if missing:
            raise DataError(f"landmark file {path}: line 1 must be a header with columns {','.join(LANDMARK_COLUMNS)}, "
                            f"found {header or 'an empty file'} (missing {missing})")
        reader.fieldnames = header
        points: dict[str, tuple[float, float]] = {}
        frames_seen: set[int] = set()
        for line, row in enumerate(reader, start=2):
            number, name, x, y = _parse_row(row, path, line)
            frames_seen.add(number)
            if number != frame:
                continue
            if name in points:
                raise DataError(f"landmark file {path}, line {line}: landmark {name!r} of frame {frame} appears twice; keep one row per frame and name")
            points[name] = (x, y)
    if not points:
        shown = sorted(frames_seen)[:5]
        raise FaceNotFoundError(f"landmark file {path} has no row for frame {frame} (frames present: {shown}{' ...' if len(frames_seen) > 5 else ''}); "
                                "frame numbers are absolute, as in the frame file names")
    return Landmarks(points, "dataset")


def _parse_row(row: dict, path: Path, line: int) -> tuple[int, str, float, float]:
    text = {c: (row.get(c) or "").strip() for c in LANDMARK_COLUMNS}
    where = f"landmark file {path}, line {line}"
    try:
        number = int(text["frame"])
    except ValueError:
        raise DataError(f"{where}: column 'frame' must be an integer frame number, got {text['frame']!r}") from None
    if not text["name"]:
        raise DataError(f"{where}: column 'name' is empty; expected a landmark name such as 'eye_inner_left'")
    coords = []
    for c in ("x", "y"):
        try:
            value = float(text[c])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"{where}: column {c!r} must be a finite pixel coordinate, got {text[c]!r}")
        coords.append(value)
    return number, text["name"], coords[0], coords[1]


@functools.lru_cache(maxsize=4)
def _cascade(name: str):
    import cv2

    path = Path(cv2.data.haarcascades) / name if hasattr(cv2, "data") else Path(name)
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise MissingDependencyError(f"OpenCV's Haar cascade {name} is missing or unreadable at {path}; opencv-python(-headless) 5.x "
                                     "no longer ships the cascades. Install them with: pip install 'opencv-python-headless<5'")
    return classifier


def haar_landmarks(gray_image: np.ndarray) -> Landmarks:
    """Eye centres of the largest frontal face found by OpenCV's bundled Haar cascades.

    The face is ``haarcascade_frontalface_default`` (scaleFactor 1.1, minNeighbors 5, the largest
    box); the eyes are ``haarcascade_eye`` inside the upper half of that box, the largest hit in
    each half. Without such a pair, the eyes implied by the box are used and ``source`` says
    "haar_box" instead of "haar".

    Args:
        gray_image: (H, W) uint8 (float images in [0, 1] or [0, 255] are converted).

    Raises:
        FaceNotFoundError: no face box.
    """
    gray = _gray_uint8(gray_image, "haar_landmarks")
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5)
    if len(faces) == 0:
        raise FaceNotFoundError(f"the Haar frontal-face cascade found no face in the {gray.shape[1]}x{gray.shape[0]} image")
    x, y, w, h = (int(v) for v in max(faces, key=lambda b: int(b[2]) * int(b[3])))
    box = (x, y, w, h)
    upper = gray[y: y + h // 2, x: x + w]
    eyes = _cascade("haarcascade_eye.xml").detectMultiScale(upper, scaleFactor=1.1, minNeighbors=5, minSize=(max(1, w // 10),) * 2)
    centres = [(x + ex + ew / 2.0 - 0.5, y + ey + eh / 2.0 - 0.5, ew * eh) for ex, ey, ew, eh in eyes]
    mid = x + w / 2.0
    image_left = [c for c in centres if c[0] < mid]  # the subject's right eye
    image_right = [c for c in centres if c[0] >= mid]
    if image_left and image_right:
        right, left = max(image_left, key=lambda c: c[2]), max(image_right, key=lambda c: c[2])
        # A real pair is roughly level and well apart; anything else (an eyebrow, a nostril) is noise.
        if abs(left[1] - right[1]) < 0.2 * w and left[0] - right[0] > 0.2 * w:
            return Landmarks({"eye_centre_right": right[:2], "eye_centre_left": left[:2]}, "haar", box)
    points = {name: (x + fx * w - 0.5, y + fy * h - 0.5) for name, (fx, fy) in HAAR_BOX_EYES.items()}
    return Landmarks(points, "haar_box", box)


def mediapipe_landmarks(image: np.ndarray) -> Landmarks:
    """Eye corners, nose tip and bridge from MediaPipe FaceMesh (legacy solutions API, models in the wheel).

    Args:
        image: (H, W) gray or (H, W, 3) RGB uint8.

    Raises:
        MissingDependencyError: mediapipe is not installed (``pip install 'mer4d[face]'``).
        FaceNotFoundError: FaceMesh found no face.
    """
    import cv2

    mp = require("mediapipe", extra="face", purpose="face landmarks")
    if getattr(image, "ndim", None) == 2:
        rgb = cv2.cvtColor(_gray_uint8(image, "mediapipe_landmarks"), cv2.COLOR_GRAY2RGB)
    elif getattr(image, "ndim", None) == 3 and image.shape[2] == 3:
        rgb = np.ascontiguousarray(image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8))
    else:
        raise ShapeError(f"mediapipe_landmarks: expected (H, W) gray or (H, W, 3) RGB, got shape {getattr(image, 'shape', None)}",
                         "H W [3]", getattr(image, "shape", None))
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        result = mesh.process(rgb)
    if not result.multi_face_landmarks:
        raise FaceNotFoundError(f"MediaPipe FaceMesh found no face in the {rgb.shape[1]}x{rgb.shape[0]} image")
    marks = result.multi_face_landmarks[0].landmark
    h, w = rgb.shape[:2]
    # normalised [0, 1] image coordinates -> pixel centres
    points = {name: (marks[i].x * w - 0.5, marks[i].y * h - 0.5) for name, i in MEDIAPIPE_INDICES.items()}
    return Landmarks(points, "mediapipe")
