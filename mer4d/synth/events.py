"""Expression events (onset -> apex -> offset) and the animation of a face through them.

An :class:`Event` is a set of action units with apex amplitudes in millimetres and three frame
indices. Its temporal :func:`profile` is a raised cosine: 0 at the onset, rising smoothly to
exactly 1 at the apex, falling back to 0 at the offset. :func:`animate` adds up the events'
displacements on a neutral face and then the distractors that make real ME data hard: blinks,
slow rigid head motion and per-vertex sensor noise (:class:`Distractors`).

Timing and size follow the ME literature: a micro-expression lasts under 0.5 s from onset to
offset with a sub-millimetre to ~2 mm apex displacement; a macro-expression 0.5 to 4 s and
larger. Durations here are ``(offset - onset) / fps``; micro events also keep the inclusive count
``(offset - onset + 1) / fps`` under 0.5 s, so either convention agrees.

Example:
    >>> import numpy as np
    >>> from mer4d.synth.face import make_face
    >>> from mer4d.synth.identity import Identity
    >>> face, rng = make_face(Identity()), np.random.default_rng(0)
    >>> event = sample_event(rng, "micro", fps=60, n_frames=60, aus=["L12"], face=face)
    >>> clip = animate(face, [event], n_frames=60, fps=60, rng=rng)
    >>> clip.vertices.shape == (60, face.mesh.vertices.shape[0], 3)
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mer4d.core.errors import DataError
from mer4d.synth.animation import Animation, Distractors, raised_cosine_profile, synthesize
from mer4d.synth.aus import au_field, check_amplitude, check_au_code
from mer4d.synth.face import FaceModel

KINDS = ("micro", "macro")
MICRO_MAX_S = 0.5
"""A micro-expression lasts strictly less than this from onset to offset."""
DURATION_S: dict[str, tuple[float, float]] = {"micro": (0.2, 0.45), "macro": (0.5, 4.0)}
"""Default onset-to-offset duration range per kind, seconds."""
AMPLITUDE_MM: dict[str, tuple[float, float]] = {"micro": (0.3, 2.0), "macro": (2.0, 6.0)}
"""Default apex amplitude range per kind, millimetres."""

__all__ = [
    "AMPLITUDE_MM", "DURATION_S", "KINDS", "MICRO_MAX_S", "Animation", "Distractors", "Event",
    "animate", "profile", "sample_event",
]


@dataclass(frozen=True)
class Event:
    """One expression in a clip.

    Attributes:
        kind: "micro" or "macro".
        aus: AU code (see :data:`mer4d.synth.aus.SUPPORTED_AUS`) -> apex amplitude in mm.
        onset, apex, offset: frame indices within the clip, ``0 <= onset <= apex <= offset``, ``onset < offset``.
    """

    kind: Literal["micro", "macro"]
    aus: dict[str, float]
    onset: int
    apex: int
    offset: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"Event.kind: expected 'micro' or 'macro', found {self.kind!r}. Fix: pass kind='micro' or kind='macro'.")
        if not isinstance(self.aus, Mapping) or not self.aus:
            raise DataError(f"Event.aus: expected a non-empty mapping of AU code -> apex amplitude in mm, found {self.aus!r}. Fix: pass e.g. {{'AU12': 1.0}}.")
        for code, amplitude in self.aus.items():
            check_au_code(code)
            check_amplitude(code, amplitude)
        object.__setattr__(self, "aus", {code: float(a) for code, a in self.aus.items()})  # a private copy
        for name in ("onset", "apex", "offset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise DataError(f"Event.{name}: expected a non-negative frame index, found {value!r}. Fix: pass an int.")
            object.__setattr__(self, name, int(value))
        if not self.onset <= self.apex <= self.offset or self.onset == self.offset:
            raise DataError(
                f"Event frames: expected onset <= apex <= offset and onset < offset, found onset={self.onset}, apex={self.apex}, "
                f"offset={self.offset}. Fix: order the three frame indices."
            )

    def duration_s(self, fps: float) -> float:
        """Onset-to-offset duration in seconds, ``(offset - onset) / fps``."""
        return (self.offset - self.onset) / fps


def profile(event: Event, n_frames: int) -> np.ndarray:
    """Temporal intensity of ``event`` over a clip.

    Args:
        event: the event.
        n_frames: T, the clip length.

    Returns:
        (T,) float64 in [0, 1]: 0 outside [onset, offset] (and at both ends), a raised-cosine rise
        to exactly 1 at the apex and a raised-cosine fall after it; monotone on each side.
    """
    _check_count("n_frames", n_frames, 1)
    return raised_cosine_profile(event.onset, event.apex, event.offset, n_frames)


def sample_event(
    rng: np.random.Generator,
    kind: Literal["micro", "macro"],
    fps: float,
    n_frames: int,
    aus: Sequence[str] | Mapping[str, float],
    amplitude_range: tuple[float, float] | None = None,
    *,
    face: FaceModel | None = None,
) -> Event:
    """Draw timing and amplitudes of one event that fits in a clip.

    The onset-to-offset span is uniform over the kind's duration range (:data:`DURATION_S`, cut to
    what the clip holds), the apex falls 30-60% of the way through, and the onset anywhere that
    leaves room. The event's apex amplitude A is uniform in ``amplitude_range``; the AUs share it
    by relative weight (the given mapping's values, else random in [0.6, 1]), the strongest at A.

    Args:
        rng: random generator; the same state gives the same event.
        kind: "micro" (< 0.5 s, 0.3-2 mm by default) or "macro" (0.5-4 s, 2-6 mm).
        fps: frames per second of the clip.
        n_frames: clip length T; the whole event lies in [0, T).
        aus: AU codes, or code -> relative weight (> 0).
        amplitude_range: (low, high) apex amplitude in mm; None takes :data:`AMPLITUDE_MM`.
        face: when given, amplitudes are scaled so the largest vertex displacement of all AUs
            together at the apex is exactly A (overlapping AUs otherwise add up beyond it).

    Returns:
        an :class:`Event`.

    Raises:
        DataError: unknown kind, bad fps/amplitudes, or a clip too short (or fps too low) for the kind.
    """
    if kind not in KINDS:
        raise DataError(f"sample_event: expected kind 'micro' or 'macro', found {kind!r}. Fix: pass one of them.")
    if not isinstance(fps, (int, float, np.integer, np.floating)) or not math.isfinite(fps) or fps <= 0:
        raise DataError(f"sample_event: expected fps > 0, found {fps!r}. Fix: pass the clip's frame rate, e.g. fps=60.")
    _check_count("n_frames", n_frames, 2)
    weights = _relative_weights(rng, aus)
    low, high = _amplitude_range(kind, amplitude_range)

    lo_s, hi_s = DURATION_S[kind]
    shortest = max(math.ceil(lo_s * fps - 1e-9), 2)  # two frames at least: onset < apex < offset
    longest = math.floor(hi_s * fps + 1e-9)
    if kind == "micro":
        longest = min(longest, math.ceil(MICRO_MAX_S * fps) - 2)  # (span + 1) / fps < 0.5 s too
    if longest < shortest:
        raise DataError(f"sample_event: at fps={fps} a {kind}-expression cannot be timed in whole frames (it needs "
                        f"{lo_s}-{hi_s} s with distinct onset, apex and offset). Fix: use a higher frame rate.")
    if n_frames - 1 < shortest:
        raise DataError(f"sample_event: clip too short for a {kind}-expression: expected n_frames >= {shortest + 1} "
                        f"({lo_s} s at {fps} fps), found {n_frames}. Fix: use a longer clip.")
    span = int(rng.integers(shortest, min(longest, n_frames - 1) + 1))
    onset = int(rng.integers(0, n_frames - span))
    apex = onset + int(np.clip(round(span * rng.uniform(0.3, 0.6)), 1, span - 1))
    amplitude = float(rng.uniform(low, high))

    scale = amplitude
    if face is not None:
        combined = sum(w * au_field(face, code).astype(np.float64) for code, w in weights.items())
        scale = amplitude / float(np.linalg.norm(combined, axis=1).max())
    return Event(kind, {code: w * scale for code, w in weights.items()}, onset, apex, onset + span)


def animate(
    face: FaceModel,
    events: Sequence[Event],
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    distractors: Distractors | None = None,
) -> Animation:
    """Animate ``face`` through ``events`` plus distractors.

    Per frame: neutral + sum over events of profile x AU displacement, plus blinks (AU45, about
    0.15 s, at random times) when enabled; then a small rigid head motion; then sensor noise.
    Landmarks are read before the noise (they are ground truth, not measurements). With
    ``Distractors.none()`` a frame outside every event equals the neutral mesh exactly.

    Args:
        face: the neutral face.
        events: events whose frames lie in [0, n_frames).
        n_frames: T.
        fps: frames per second (sets blink length, head-motion smoothness).
        rng: random generator for the distractors; the same state gives identical frames.
        distractors: what to add; None means the defaults of :class:`Distractors`.

    Returns:
        an :class:`Animation`: ``vertices`` (T, N, 3) float32, ``landmarks`` (T, L, 3) float32 and
        what was drawn (blinks, head pose). ``.to_mesh_seq()`` gives a :class:`~mer4d.core.containers.MeshSeq`.

    Raises:
        DataError: an event lies outside the clip, or an argument is invalid.
    """
    _check_count("n_frames", n_frames, 1)
    if not isinstance(fps, (int, float, np.integer, np.floating)) or not math.isfinite(fps) or fps <= 0:
        raise DataError(f"animate: expected fps > 0, found {fps!r}. Fix: pass the clip's frame rate.")
    if not isinstance(rng, np.random.Generator):
        raise DataError(f"animate: expected rng to be a numpy Generator, found {type(rng).__name__}. Fix: pass np.random.default_rng(seed).")
    for i, event in enumerate(events):
        if not isinstance(event, Event):
            raise DataError(f"animate: events[{i}] is a {type(event).__name__}, expected an Event. Fix: build it with Event(...) or sample_event(...).")
        if event.offset >= n_frames:
            raise DataError(f"animate: events[{i}] ends at frame {event.offset}, outside a clip of n_frames={n_frames}. "
                            "Fix: lengthen the clip or move the event.")
    tracks = [(raised_cosine_profile(e.onset, e.apex, e.offset, n_frames), e.aus) for e in events]
    return synthesize(face, tracks, n_frames, float(fps), rng, distractors or Distractors())


def _relative_weights(rng: np.random.Generator, aus: Sequence[str] | Mapping[str, float]) -> dict[str, float]:
    """AU code -> weight in (0, 1], the largest exactly 1."""
    if isinstance(aus, str) or not len(aus):
        raise DataError(f"sample_event: expected a non-empty list of AU codes (or code -> weight), found {aus!r}. Fix: pass e.g. ['AU12'].")
    if isinstance(aus, Mapping):
        raw = {}
        for code, w in aus.items():
            check_au_code(code)
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not math.isfinite(w) or w <= 0:
                raise DataError(f"sample_event: relative weight of {code} must be > 0, found {w!r}. Fix: drop the AU or give it a positive weight.")
            raw[code] = float(w)
    else:
        raw = {check_au_code(code): float(rng.uniform(0.6, 1.0)) for code in aus}
    top = max(raw.values())
    return {code: w / top for code, w in raw.items()}


def _amplitude_range(kind: str, amplitude_range: tuple[float, float] | None) -> tuple[float, float]:
    if amplitude_range is None:
        return AMPLITUDE_MM[kind]
    try:
        low, high = (float(v) for v in amplitude_range)
    except (TypeError, ValueError):
        low, high = math.nan, math.nan
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low <= high):
        raise DataError(f"sample_event: expected amplitude_range=(low, high) in mm with 0 < low <= high, found {amplitude_range!r}. "
                        f"Fix: pass e.g. {AMPLITUDE_MM[kind]} or None for the {kind} default.")
    return low, high


def _check_count(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DataError(f"{name}: expected an integer >= {minimum}, found {value!r}. Fix: pass a whole number of frames.")
