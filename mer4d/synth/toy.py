"""A tiny micro-expression-like dataset generated in code, for the first end-to-end path.

Every clip is a grayscale face-like drawing (face ellipse, eyes, brows, nose shadow, mouth) in
which one facial region moves a little, onset -> apex -> offset, and the class is *which* motion
happened. The motions are loosely modelled on FACS action units (the emotion names are labels
only, not a claim about real expressions):

===== ========== ============ =================================================================
class emotion    action unit  planted motion
===== ========== ============ =================================================================
0     surprise   AU1+AU2      both brows rise
1     happiness  AU12         lip corners pull outwards and up
2     disgust    AU4          brows lower and draw together (inner ends most)
3     fear       AU7          eyelids tighten (eyes narrow)
4     sadness    AU15         lip corners pull down
===== ========== ============ =================================================================

The motion is subtle on purpose: about one pixel at apex for ``size=32`` (it scales with
``size``), drawn anti-aliased from continuous coordinates so sub-pixel shifts change the pixels.
Per-subject appearance (face position and size, brow height, brightness, contrast, ink darkness)
varies by about as much as the motion, so a single apex frame says little; the change over time
carries the class. Sensor noise and a global brightness flicker are distractors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets.toy import TOY_CLASSES

EMOTIONS: tuple[str, ...] = TOY_CLASSES
"""Class names, in class-index order; a toy set with K classes uses the first K (declared by the toy spec)."""

ACTION_UNITS: tuple[str, ...] = ("AU1+AU2", "AU12", "AU4", "AU7", "AU15")
"""The action unit each class imitates, parallel to :data:`EMOTIONS`."""

CLASS_REGIONS: tuple[str, ...] = ("brows", "mouth", "brows", "eyes", "mouth")
"""The :data:`REGIONS` entry where each class's motion happens, parallel to :data:`EMOTIONS`."""

REGIONS: dict[str, tuple[float, float, float, float]] = {
    "brows": (0.19, 0.38, 0.12, 0.88),
    "eyes": (0.38, 0.50, 0.12, 0.88),
    "mouth": (0.64, 0.86, 0.22, 0.78),
}
"""Boxes ``(top, bottom, left, right)`` as fractions of ``size`` around each facial region, for
checking where the motion (or a model's attention) is. Subject offsets move the face by a pixel
or two, so "brows" and "eyes" can spill into each other; "mouth" is well apart from both."""

MAX_CLASSES = len(EMOTIONS)
FPS = 30.0

# Layout in pixels of a 32x32 face; everything is scaled by size / 32 so a larger rendering
# shows the same face and the same relative motion.
_FACE_CY, _FACE_RX, _FACE_RY = 16.5, 11.5, 14.0
_EYE_DX, _EYE_DY, _EYE_SX, _EYE_SY = 4.8, -3.0, 1.9, 1.25
_BROW_DY, _BROW_INNER, _BROW_OUTER, _BROW_DROOP, _BROW_W = -6.3, 2.3, 7.5, 0.6, 0.75
_MOUTH_DY, _MOUTH_DX, _MOUTH_W = 7.0, 4.2, 0.8
_AMPLITUDE = 1.0  # apex displacement in 32-px units before the per-clip factor


def make_toy_clips(
    subjects: int = 6,
    clips_per_class: int = 6,
    num_classes: int = 3,
    frames: int = 8,
    size: int = 32,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Generate the toy micro-expression set.

    Args:
        subjects: number of subjects (>= 2, so leave-one-subject-out has something to train on).
        clips_per_class: clips of each class per subject (>= 1).
        num_classes: number of classes K, 1 < K <= 5 (see the module table).
        frames: frames T per clip (>= 4, room for onset, apex and offset).
        size: image height and width H = W in pixels, 16 to 512; the motion scales with it.
        seed: everything is a function of the arguments; same arguments give identical bytes.

    Returns:
        ``(index, clips)``: the Index (see :mod:`mer4d.data.index`; ``onset``/``apex``/``offset``
        are 0-based frame positions inside the clip, ``emotion`` the class name) and a float32
        array of shape (N, 1, T, H, W) in [0, 1], N = subjects * K * clips_per_class, rows in
        the same order as the index.

    Raises:
        DataError: an argument is out of range; the message says the allowed range.

    Example:
        >>> index, clips = make_toy_clips(subjects=2, clips_per_class=1)
        >>> clips.shape, list(index["emotion"])[:3]
        ((6, 1, 8, 32, 32), ['surprise', 'happiness', 'disgust'])
    """
    _validate(subjects, clips_per_class, num_classes, frames, size, seed)
    scale = size / 32.0
    n_per_subject = num_classes * clips_per_class
    labels = np.repeat(np.arange(num_classes), clips_per_class)
    coords = np.arange(size, dtype=np.float64) + 0.5
    grid = (coords[None, None, None, :], coords[None, None, :, None])  # x (1,1,1,W), y (1,1,H,1)
    clips = np.empty((subjects * n_per_subject, 1, frames, size, size), dtype=np.float32)
    rows: list[dict] = []
    # One child seed per subject (appearance, then its clips) keeps a subject's clips unchanged
    # when other subjects are added, which makes failures easy to reproduce.
    for s, subject_seq in enumerate(np.random.SeedSequence(seed).spawn(subjects)):
        look_seq, clips_seq = subject_seq.spawn(2)
        look = _subject_look(np.random.default_rng(look_seq), scale, size)
        draws = [_clip_draws(np.random.default_rng(c), frames, size, scale) for c in clips_seq.spawn(n_per_subject)]
        video = _render(look, draws, labels, grid, frames, scale)
        start = s * n_per_subject
        clips[start:start + n_per_subject, 0] = video
        subject = f"s{s + 1:02d}"
        for i, (label, d) in enumerate(zip(labels, draws, strict=True)):
            rows.append({
                "dataset": "toy", "subject": subject, "clip_id": f"{subject}_c{i:02d}", "kind": "micro",
                "fps": FPS, "onset": d["onset"], "apex": d["apex"], "offset": d["offset"],
                "emotion": EMOTIONS[label], "fold": None,
            })
    return pd.DataFrame(rows), clips


def _validate(subjects: int, clips_per_class: int, num_classes: int, frames: int, size: int, seed: int) -> None:
    checks = [
        ("subjects", subjects, 2, None, "at least 2 subjects so leave-one-subject-out can train"),
        ("clips_per_class", clips_per_class, 1, None, "at least 1 clip per class"),
        ("num_classes", num_classes, 2, MAX_CLASSES, f"between 2 and {MAX_CLASSES} classes ({', '.join(EMOTIONS)})"),
        ("frames", frames, 4, None, "at least 4 frames to hold onset, apex and offset"),
        ("size", size, 16, 512, "an image size between 16 and 512 pixels"),
        ("seed", seed, 0, None, "a non-negative integer seed"),
    ]
    for name, value, low, high, need in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise DataError(f"toy dataset: {name} must be an integer, got {value!r} ({type(value).__name__}); pass e.g. {name}={low}")
        if value < low or (high is not None and value > high):
            raise DataError(f"toy dataset: {name}={value} is out of range; expected {need}. Fix: pass a value in range.")


def _subject_look(rng: np.random.Generator, scale: float, size: int) -> dict[str, float]:
    """Per-subject appearance; offsets are about as large as the planted motion on purpose."""
    u = rng.uniform
    return {
        "cx": size / 2 + u(-1.2, 1.2) * scale,
        "cy": _FACE_CY * scale + u(-1.2, 1.2) * scale,
        "face_scale": u(0.93, 1.07),
        "brow_dy": u(-1.0, 1.0) * scale,
        "eye_dx": u(-0.5, 0.5) * scale,
        "mouth_dx": u(-0.6, 0.6) * scale,
        "corner_lift": u(-0.5, 0.5) * scale,
        "eye_open": u(-0.25, 0.25) * scale,
        "background": u(0.08, 0.25),
        "skin": u(0.62, 0.82),
        "contrast": u(0.85, 1.15),
        "brow_ink": u(0.40, 0.65),
        "eye_ink": u(0.55, 0.80),
        "mouth_ink": u(0.40, 0.65),
        "nose_ink": u(0.12, 0.22),
    }


def _clip_draws(rng: np.random.Generator, frames: int, size: int, scale: float) -> dict:
    """Per-clip randomness: timing, amplitude, small pose shift, flicker and noise."""
    room = max(1, frames // 8)  # onset jitter; the rest of the clip holds the expression
    span = frames - 1 - room
    onset = int(rng.integers(0, room + 1))
    rise = int(np.clip(round(span * rng.uniform(0.35, 0.5)), 1, span - 1))
    t = np.arange(frames, dtype=np.float64)
    flicker = rng.uniform(0.0, 0.03) * np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * t / frames + rng.uniform(0, 2 * np.pi))
    return {
        "onset": onset, "apex": onset + rise, "offset": onset + span,
        "amplitude": _AMPLITUDE * rng.uniform(0.7, 1.3) * scale,
        "shift": rng.uniform(-0.5, 0.5, size=2) * scale,
        "flicker": flicker,
        "noise": rng.normal(0.0, rng.uniform(0.008, 0.02), size=(frames, size, size)),
    }


def _profile(frames: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Raised-cosine rise onset -> apex and fall apex -> offset, shape (T,), 0 outside, 1 at apex."""
    t = np.arange(frames, dtype=np.float64)
    p = np.zeros(frames)
    up = (t >= onset) & (t <= apex)
    down = (t > apex) & (t <= offset)
    p[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - onset) / (apex - onset))
    p[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - apex) / (offset - apex))
    return p


def _render(look: dict, draws: list[dict], labels: np.ndarray, grid: tuple, frames: int, scale: float) -> np.ndarray:
    """Draw one subject's clips, shape (n, T, H, W); feature parameters broadcast as (n, T, 1, 1)."""
    x, y = grid
    n = len(draws)

    def col(values) -> np.ndarray:  # (n,) or (n, T) -> (n, T, 1, 1)
        return np.broadcast_to(np.asarray(values, dtype=np.float64).reshape(n, -1), (n, frames))[:, :, None, None]

    disp = col([d["amplitude"] * _profile(frames, d["onset"], d["apex"], d["offset"]) for d in draws])
    onehot = [col(labels == k) * disp for k in range(MAX_CLASSES)]
    up, smile, frown, squint, down = onehot  # per-class displacement in pixels, zero for other classes

    k = look["face_scale"] * scale
    shift = np.stack([d["shift"] for d in draws])
    cx, cy = col(look["cx"] + shift[:, 0]), col(look["cy"] + shift[:, 1])

    face = _ellipse(x, y, cx, cy, _FACE_RX * k, _FACE_RY * k, edge=0.7 * scale)
    image = look["background"] + (look["skin"] - look["background"]) * face

    ink = np.zeros_like(image)
    brow_y = cy + _BROW_DY * k + look["brow_dy"] - up + 0.7 * frown
    eye_y = cy + _EYE_DY * k + 0.35 * squint
    eye_dx = _EYE_DX * k + look["eye_dx"]
    for side in (-1.0, 1.0):
        inner_x = cx + side * (_BROW_INNER * k - 0.6 * frown)
        outer_x = cx + side * _BROW_OUTER * k
        ink += look["brow_ink"] * _segment(x, y, inner_x, brow_y + 0.5 * frown, outer_x, brow_y + _BROW_DROOP * k - 0.3 * frown, _BROW_W * scale)
        sy = np.maximum(_EYE_SY * k + look["eye_open"] - 0.6 * squint, 0.35 * scale)
        ink += look["eye_ink"] * _blob(x, y, cx + side * eye_dx, eye_y, _EYE_SX * k, sy)
        mouth_y = cy + _MOUTH_DY * k
        corner_x = cx + side * (_MOUTH_DX * k + look["mouth_dx"] + 0.7 * smile + 0.2 * down)
        corner_y = mouth_y - look["corner_lift"] - 0.8 * smile + down
        ink += look["mouth_ink"] * _segment(x, y, cx, mouth_y, corner_x, corner_y, _MOUTH_W * scale)
    ink += look["nose_ink"] * _segment(x, y, cx + 0.6 * k, cy, cx + 1.0 * k, cy + 3.5 * k, 0.9 * scale)
    image = image * (1.0 - np.minimum(ink, 0.95))

    image = 0.5 + look["contrast"] * (image - 0.5)
    image = image * (1.0 + col([d["flicker"] for d in draws])) + np.stack([d["noise"] for d in draws])
    return np.clip(image, 0.0, 1.0)


def _ellipse(x, y, cx, cy, rx, ry, edge: float) -> np.ndarray:
    """Soft-edged filled ellipse in [0, 1]; the logistic edge is about ``edge`` pixels wide."""
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return 1.0 / (1.0 + np.exp(-(1.0 - r) * np.minimum(rx, ry) / edge))


def _blob(x, y, cx, cy, sx, sy) -> np.ndarray:
    """Anisotropic Gaussian blob, peak 1."""
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def _segment(x, y, x0, y0, x1, y1, width: float) -> np.ndarray:
    """Gaussian stroke along the segment (x0, y0)-(x1, y1); smooth in the endpoints, so sub-pixel motion shows."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy + 1e-12), 0.0, 1.0)
    dist2 = (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2
    return np.exp(-0.5 * dist2 / (width * width))
