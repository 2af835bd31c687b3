"""Frame synthesis: AU tracks -> animated vertices, with blinks, head motion and sensor noise.

The public entry point is :func:`mer4d.synth.events.animate`; this module holds what it returns
(:class:`Animation`), its options (:class:`Distractors`) and the vectorised core: all AU tracks
become one (T, K) coefficient matrix times one (K, N*3) field matrix, a single matmul per clip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import DataError
from mer4d.geometry.template import LANDMARK_NAMES
from mer4d.synth.aus import au_field, closure_amplitude
from mer4d.synth.face import FaceModel
from mer4d.synth.head_motion import apply_pose, head_pose_track, neck_pivot

BLINK_S = (0.12, 0.18)
"""Blink duration range, seconds (eyelid closing and reopening)."""
_CLOSURE = {"left": ("AU43", "AU45", "L43", "L45"), "right": ("AU43", "AU45", "R43", "R45")}


@dataclass(frozen=True)
class Distractors:
    """Nuisances added on top of the expression events.

    Attributes:
        blinks: add AU45 blinks at random times (a Poisson process at ``blink_rate_hz``).
        head_motion_mm: largest rigid translation along each axis over a clip, mm (0 = none).
        head_motion_deg: largest rigid rotation about each axis over a clip, degrees (0 = none).
        vertex_noise_mm: standard deviation of independent Gaussian noise per vertex coordinate, mm.
        blink_rate_hz: mean blinks per second when ``blinks`` is on (people blink ~15-20 times a minute).
    """

    blinks: bool = True
    head_motion_mm: float = 0.5
    head_motion_deg: float = 0.5
    vertex_noise_mm: float = 0.05
    blink_rate_hz: float = 0.3

    def __post_init__(self) -> None:
        if not isinstance(self.blinks, (bool, np.bool_)):
            raise DataError(f"Distractors.blinks: expected True or False, found {self.blinks!r}.")
        for f in fields(self):
            if f.name == "blinks":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value) or value < 0:
                raise DataError(f"Distractors.{f.name}: expected a finite number >= 0, found {value!r}. Fix: pass 0 to switch it off.")

    @classmethod
    def none(cls) -> Distractors:
        """No blinks, no head motion, no noise: frames are exactly neutral + events."""
        return cls(blinks=False, head_motion_mm=0.0, head_motion_deg=0.0, vertex_noise_mm=0.0)


@dataclass(frozen=True, eq=False)
class Animation:
    """An animated clip of one face.

    Attributes:
        face: the neutral face (topology, uvs, texture, landmark indices).
        fps: frames per second.
        vertices: (T, N, 3) float32 mm, everything included (events, distractors, noise).
        landmarks: (T, L, 3) float32 mm in :data:`~mer4d.geometry.template.LANDMARK_NAMES` order, before sensor noise.
        rotation: (T, 3, 3) float32 head rotation per frame (identity without head motion).
        translation: (T, 3) float32 head translation per frame, mm.
        blinks: (onset, apex, offset) frames of each blink drawn; blinks are distractors, not labels.
    """

    face: FaceModel
    fps: float
    vertices: np.ndarray
    landmarks: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    blinks: tuple[tuple[int, int, int], ...]

    def __len__(self) -> int:
        return int(self.vertices.shape[0])

    def to_mesh_seq(self, frame_numbers: np.ndarray | None = None) -> MeshSeq:
        """The clip as a :class:`MeshSeq` (texture, uvs and named landmarks included).

        Args:
            frame_numbers: (T,) absolute frame numbers to record; None numbers frames 0..T-1.
        """
        n = len(self)
        numbers = np.arange(n, dtype=np.int64) if frame_numbers is None else np.asarray(frame_numbers, dtype=np.int64)
        mesh = self.face.mesh
        return MeshSeq(self.vertices, mesh.faces, float(self.fps), uvs=mesh.uvs, texture=mesh.texture,
                       landmarks=self.landmarks, landmark_names=LANDMARK_NAMES, frame_numbers=numbers)


def raised_cosine_profile(onset: int, apex: int, offset: int, n_frames: int) -> np.ndarray:
    """(T,) float64: 0 up to ``onset``, raised-cosine rise to exactly 1 at ``apex``, fall to 0 at ``offset``."""
    t = np.arange(n_frames, dtype=np.float64)
    p = np.zeros(n_frames)
    if apex > onset:
        up = (t >= onset) & (t < apex)
        p[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - onset) / (apex - onset))
    if offset > apex:
        down = (t > apex) & (t <= offset)
        p[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - apex) / (offset - apex))
    if 0 <= apex < n_frames:
        p[apex] = 1.0
    return p


def synthesize(
    face: FaceModel,
    tracks: Sequence[tuple[np.ndarray, Mapping[str, float]]],
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
    distractors: Distractors,
) -> Animation:
    """Build the frames from (profile (T,), {code: apex mm}) tracks; see :func:`mer4d.synth.events.animate`.

    Random draws happen in a fixed order (blinks, head pose, noise), so switching one distractor
    off changes the others' draws but the same arguments always give the same frames.
    """
    coeffs: dict[str, np.ndarray] = {}
    for prof, aus in tracks:
        for code, amplitude in aus.items():
            coeffs[code] = coeffs.get(code, np.zeros(n_frames)) + prof * amplitude

    blinks: tuple[tuple[int, int, int], ...] = ()
    if distractors.blinks and distractors.blink_rate_hz > 0:
        blinks = _draw_blinks(rng, n_frames, fps, distractors.blink_rate_hz)
        if blinks:
            _add_blinks(face, coeffs, blinks, n_frames, rng)

    neutral = face.mesh.vertices
    frames = np.broadcast_to(neutral, (n_frames, *neutral.shape)).copy()
    codes = [c for c in coeffs if np.any(coeffs[c])]
    if codes:
        c = np.stack([coeffs[code] for code in codes], axis=1).astype(np.float32)  # (T, K)
        f = np.stack([au_field(face, code) for code in codes]).reshape(len(codes), -1)  # (K, N*3)
        frames += (c @ f).reshape(frames.shape)

    rotation = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
    translation = np.zeros((n_frames, 3))
    if distractors.head_motion_deg > 0 or distractors.head_motion_mm > 0:
        rotation, translation = head_pose_track(rng, n_frames, fps, distractors.head_motion_deg, distractors.head_motion_mm)
        frames = apply_pose(frames, rotation, translation, neck_pivot(face.layout))

    landmarks = frames[:, face.landmark_indices, :]
    if distractors.vertex_noise_mm > 0:
        frames += rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(distractors.vertex_noise_mm)
    return Animation(face, fps, frames, landmarks, rotation.astype(np.float32), translation.astype(np.float32), blinks)


def _draw_blinks(rng: np.random.Generator, n_frames: int, fps: float, rate_hz: float) -> tuple[tuple[int, int, int], ...]:
    """Blink frames: a Poisson count over the clip, each 0.12-0.18 s, closing faster than reopening."""
    count = int(rng.poisson(rate_hz * n_frames / fps))
    out = []
    for _ in range(count):
        span = max(2, round(rng.uniform(*BLINK_S) * fps))
        if span >= n_frames:
            continue
        onset = int(rng.integers(0, n_frames - span))
        apex = onset + int(np.clip(round(0.4 * span), 1, span - 1))
        out.append((onset, apex, onset + span))
    return tuple(sorted(out))


def _add_blinks(face: FaceModel, coeffs: dict[str, np.ndarray], blinks, n_frames: int, rng: np.random.Generator) -> None:
    """Add AU45 blink tracks, capped so lids already closing for an event never close past shut."""
    full = closure_amplitude(face)
    blink = np.zeros(n_frames)
    for onset, apex, offset in blinks:
        blink = np.maximum(blink, raised_cosine_profile(onset, apex, offset, n_frames) * full * rng.uniform(0.85, 0.97))
    # The one-sided closure fields peak at the same eye as the two-sided one, so amplitudes add per side.
    closing = np.max([np.zeros(n_frames) + sum(coeffs.get(code, 0.0) for code in side) for side in _CLOSURE.values()], axis=0)
    coeffs["AU45"] = coeffs.get("AU45", np.zeros(n_frames)) + np.clip(np.minimum(blink, full - closing), 0.0, None)
