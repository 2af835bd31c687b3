"""Temporal sampling: bring a clip of any length to the fixed number of frames a model takes.

Pure numpy functions on frame arrays (T, ...) and their absolute frame numbers (T,), as returned
by :mod:`mer4d.data.readers`. Index strategies return *positions* (0-based indices into the clip);
onset and apex are given as absolute frame numbers, like the annotations.

Strategies (``algorithms.md`` §4, "simpler alternatives"):

* ``uniform``: evenly spaced frames including the first and the last (frames repeat when the
  clip is shorter than ``n_frames``).
* ``interpolate``: linear interpolation in time at evenly spaced positions (new in-between
  frames instead of repeats).
* ``tim``: the Temporal Interpolation Model (:mod:`mer4d.preprocess.tim`), the 4DME paper's
  choice for its 2D baselines (TIM to 10 frames).
* ``onset_apex``: the onset and the apex frame (2 frames), for difference / optical-flow models.
* ``apex_window``: ``n_frames`` consecutive frames around the apex, where the motion peaks.
* ``adaptive``: temporal-adaptive key frames from onset, apex and offset (the DFME paper's choice,
  after ME-PLAN), see :func:`adaptive_indices`.
"""

from __future__ import annotations

import numpy as np

from mer4d.core.errors import DataError, RecipeError, ShapeError

STRATEGIES = ("uniform", "interpolate", "tim", "onset_apex", "apex_window", "adaptive")


def uniform_indices(n_available: int, n_frames: int) -> np.ndarray:
    """Evenly spaced positions ``round(linspace(0, n_available - 1, n_frames))``.

    Args:
        n_available: frames in the clip T (>= 1).
        n_frames: positions wanted (>= 1); a single position is the first frame.

    Returns:
        (n_frames,) int64 non-decreasing positions in [0, T - 1]; the first is 0 and the last T - 1
        (when n_frames > 1); positions repeat when T < n_frames.
    """
    _check_count("n_available", n_available)
    _check_count("n_frames", n_frames)
    return np.linspace(0, n_available - 1, n_frames).round().astype(np.int64)


def interpolate_frames(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """Resample a clip to ``n_frames`` by linear interpolation in time.

    Output frame ``j`` lies at clip position ``p_j = j (T - 1) / (n_frames - 1)`` (the same positions
    :func:`uniform_indices` rounds) and is ``(1 - w) frames[floor(p_j)] + w frames[floor(p_j) + 1]``
    with ``w = p_j - floor(p_j)``.

    Args:
        frames: (T, ...) numeric array, T >= 1.
        n_frames: output length (>= 1).

    Returns:
        (n_frames, ...) float32; equal to ``frames`` when T == n_frames.
    """
    _check_count("n_frames", n_frames)
    if getattr(frames, "ndim", 0) < 1 or frames.shape[0] < 1:
        raise ShapeError(f"frames: expected an array (T, ...) with T >= 1, got shape {getattr(frames, 'shape', None)}", "T ...", getattr(frames, "shape", None))
    count = frames.shape[0]
    if count == n_frames:
        return np.array(frames, dtype=np.float32)
    positions = np.linspace(0, count - 1, n_frames)
    lower = np.minimum(np.floor(positions).astype(np.int64), count - 1)
    upper = np.minimum(lower + 1, count - 1)
    # Broadcast the weights over the frame dimensions (C, H, W, ...).
    weight = (positions - lower).astype(np.float32).reshape((-1,) + (1,) * (frames.ndim - 1))
    return (1.0 - weight) * frames[lower].astype(np.float32) + weight * frames[upper].astype(np.float32)


def onset_apex_pair(numbers: np.ndarray, onset: int, apex: int) -> np.ndarray:
    """Positions of the onset and the apex frame in a clip.

    Args:
        numbers: (T,) strictly increasing absolute frame numbers of the clip.
        onset, apex: absolute frame numbers, onset <= apex.

    Returns:
        (2,) int64 positions ``[position of onset, position of apex]``.

    Raises:
        DataError: onset after apex, or either number is not a frame of the clip (values named).
    """
    numbers = _check_numbers(numbers)
    if onset > apex:
        raise DataError(f"onset {onset} is after apex {apex}; check the annotation (datasets.md §0 rule 5)")
    return np.array([_position(numbers, onset, "onset"), _position(numbers, apex, "apex")], dtype=np.int64)


def apex_window(numbers: np.ndarray, apex: int, n_frames: int) -> np.ndarray:
    """Positions of ``n_frames`` consecutive frames centred on the apex.

    The window holds ``n_frames // 2`` frames before the apex. When it overhangs an end of a clip
    that has at least ``n_frames`` frames, it is shifted inside (the apex is then off-centre), so
    every position is a distinct real frame. A clip shorter than ``n_frames`` gives all its frames,
    with the first / last one repeated where the centred window overhangs.

    Args:
        numbers: (T,) strictly increasing absolute frame numbers of the clip.
        apex: absolute frame number of the apex.
        n_frames: window length (>= 1).

    Returns:
        (n_frames,) int64 non-decreasing positions in [0, T - 1].

    Raises:
        DataError: the apex is not a frame of the clip.
    """
    _check_count("n_frames", n_frames)
    numbers = _check_numbers(numbers)
    count = len(numbers)
    start = _position(numbers, apex, "apex") - n_frames // 2
    if count >= n_frames:
        start = min(max(start, 0), count - n_frames)
    return np.clip(np.arange(start, start + n_frames), 0, count - 1).astype(np.int64)


def adaptive_indices(numbers: np.ndarray, onset: int, apex: int, offset: int | None, n_frames: int) -> np.ndarray:
    """Temporal-adaptive key-frame positions: ``n_frames`` split between the rise and the fall.

    The DFME paper samples 16 key frames "based on the annotated onset, apex and offset and the
    temporal adaptive sampling strategy" of ME-PLAN (Zhao et al. 2022) without stating the rule;
    this is the reconstruction of ``algorithms.md`` §9, chosen because it keeps the onset as the
    first frame, always contains the apex, and gives each phase a share of the frames proportional
    to its duration, so a short rise is not skipped the way uniform sampling of a long fall skips it:

    1. a missing offset becomes ``min(last frame, apex + (apex - onset))`` (a symmetric fall);
    2. ``N_rise = round(N (a - o) / (f - o))`` clipped to ``[1, N - 1]``, ``N_fall = N - N_rise``;
    3. rise ``linspace(o, a, N_rise, endpoint=False)`` (the apex excluded), fall ``linspace(a, f, N_fall)``
       (from the apex to the offset), rounded to the nearest frame.

    Positions repeat when the clip has fewer than ``n_frames`` frames (no interpolation). No
    training jitter: sampled clips are computed once per clip and cached, so a jitter would be
    frozen anyway.

    Args:
        numbers: (T,) strictly increasing absolute frame numbers of the clip.
        onset, apex: absolute frame numbers, onset <= apex.
        offset: absolute frame number >= apex, or None when the annotation has none.
        n_frames: key frames wanted (>= 2 keeps both phases; 1 gives the apex).

    Returns:
        (n_frames,) int64 non-decreasing positions in [0, T - 1]; the first is the onset's, the apex's
        is among them, the last is the offset's whenever the fall gets two or more frames.

    Raises:
        DataError: onset / apex / offset not frames of the clip, or in the wrong order.
    """
    _check_count("n_frames", n_frames)
    numbers = _check_numbers(numbers)
    if onset > apex or (offset is not None and apex > offset):
        raise DataError(f"onset {onset}, apex {apex}, offset {offset}: expected onset <= apex <= offset; check the annotation (datasets.md §0 rule 5)")
    o, a = _position(numbers, onset, "onset"), _position(numbers, apex, "apex")
    f = min(len(numbers) - 1, a + (a - o)) if offset is None else _position(numbers, offset, "offset")
    if n_frames == 1:
        return np.array([a], dtype=np.int64)
    if f == o:  # onset, apex and offset are one frame: nothing to spread
        return np.full(n_frames, o, dtype=np.int64)
    n_rise = int(np.clip(round(n_frames * (a - o) / (f - o)), 1, n_frames - 1))
    rise = np.linspace(o, a, n_rise, endpoint=False)
    fall = np.linspace(a, f, n_frames - n_rise)
    return np.rint(np.concatenate([rise, fall])).astype(np.int64)


def sample_clip(
    frames: np.ndarray,
    numbers: np.ndarray,
    strategy: str,
    n_frames: int | None = None,
    onset: int | None = None,
    apex: int | None = None,
    offset: int | None = None,
) -> np.ndarray:
    """Sample a clip with one of :data:`STRATEGIES`.

    Args:
        frames: (T, ...) clip, e.g. (T, C, H, W).
        numbers: (T,) strictly increasing absolute frame numbers of ``frames``.
        strategy: "uniform", "interpolate", "tim", "onset_apex", "apex_window" or "adaptive".
        n_frames: output length; required except for "onset_apex" (which gives 2 frames; n_frames
            may then be None or 2).
        onset: absolute onset frame number ("onset_apex", "adaptive").
        apex: absolute apex frame number ("onset_apex", "apex_window", "adaptive").
        offset: absolute offset frame number ("adaptive"; None: derived from onset and apex).

    Returns:
        (n_frames, ...) float32 (2 frames for "onset_apex").

    Raises:
        RecipeError: unknown strategy, missing or bad ``n_frames``, or a missing onset / apex.
        DataError: onset / apex not in the clip or in the wrong order.
        ShapeError: ``numbers`` does not have one entry per frame.
    """
    if strategy not in STRATEGIES:
        raise RecipeError(f"unknown sampling strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    check_len = len(np.asarray(numbers).reshape(-1))
    if getattr(frames, "ndim", 0) < 1 or frames.shape[0] != check_len:
        raise ShapeError(f"frames: expected shape (T, ...) with T = len(numbers) = {check_len}, got {getattr(frames, 'shape', None)}", "T ...", getattr(frames, "shape", None))
    if strategy == "onset_apex":
        if n_frames not in (None, 2):
            raise RecipeError(f"sampling strategy 'onset_apex' gives 2 frames (onset, apex), but n_frames={n_frames}; set n_frames to 2 or leave it unset")
        _require("onset_apex", onset=onset, apex=apex)
        return np.asarray(frames[onset_apex_pair(numbers, onset, apex)], dtype=np.float32)
    if n_frames is None:
        raise RecipeError(f"sampling strategy {strategy!r} needs n_frames (the number of output frames)")
    if strategy == "uniform":
        return np.asarray(frames[uniform_indices(len(frames), n_frames)], dtype=np.float32)
    if strategy == "interpolate":
        return interpolate_frames(frames, n_frames)
    if strategy == "tim":
        from mer4d.preprocess.tim import tim_interpolate

        return np.repeat(frames.astype(np.float32), n_frames, axis=0) if len(frames) == 1 else tim_interpolate(frames, n_frames)
    if strategy == "adaptive":
        _require("adaptive", onset=onset, apex=apex)
        return np.asarray(frames[adaptive_indices(numbers, onset, apex, offset, n_frames)], dtype=np.float32)
    _require("apex_window", apex=apex)
    return np.asarray(frames[apex_window(numbers, apex, n_frames)], dtype=np.float32)


def _require(strategy: str, **values: int | None) -> None:
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise RecipeError(f"sampling strategy {strategy!r} needs {' and '.join(missing)} (absolute frame numbers from the annotation)")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise RecipeError(f"{name} must be an integer >= 1, got {value!r}")


def _check_numbers(numbers: np.ndarray) -> np.ndarray:
    numbers = np.asarray(numbers)
    if numbers.ndim != 1 or len(numbers) == 0:
        raise ShapeError(f"numbers: expected shape (T,) with T >= 1, got {numbers.shape}", "T", numbers.shape)
    if len(numbers) > 1 and not (np.diff(numbers) > 0).all():
        raise DataError(f"numbers: frame numbers must be strictly increasing, got {numbers.tolist()[:20]}")
    return numbers


def _position(numbers: np.ndarray, number: int, what: str) -> int:
    position = int(np.searchsorted(numbers, number))
    if position == len(numbers) or numbers[position] != number:
        where = "outside" if not numbers[0] <= number <= numbers[-1] else "missing from"
        raise DataError(
            f"{what} {number} is {where} the clip (frames {int(numbers[0])}-{int(numbers[-1])}, {len(numbers)} frames); "
            "onset/apex are absolute frame numbers, check the annotation and the frame range read"
        )
    return position
