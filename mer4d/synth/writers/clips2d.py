"""Film 2D micro-expression clips of simulated subjects, for the writers of 2D-only layouts.

One subject = one sampled identity and face mesh; one clip = one event (onset -> apex -> offset at
the dataset's frame rate) of a given AU combination with blinks, small head drift and sensor
noise, rendered frontally (orthographic, lit) at ``size`` pixels, gray or RGB. Only the event's
frames (onset..offset) are rendered: the 2D releases ship each clip from its onset to its offset.
The landmarks of every frame come back too (pixels), for layouts whose writer stores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mer4d.geometry.template import LANDMARK_NAMES
from mer4d.render import Rig, View, get_renderer
from mer4d.render.rig import project
from mer4d.synth.animation import synthesize
from mer4d.synth.events import Distractors, sample_event
from mer4d.synth.face import FaceModel, make_face
from mer4d.synth.identity import sample_identity
from mer4d.synth.writers.fourdme import GRAY_VIEW, head_drift, shade, to_uint8

_GRAY = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class Clip2D:
    """The rendered frames of one event.

    Attributes:
        frames: (T, H, W) uint8 gray or (T, H, W, 3) uint8 RGB; frame 0 is the onset, T-1 the offset.
        apex: position of the apex frame in ``frames``.
        landmarks: (T, L, 2) pixel (column, row) of :data:`mer4d.geometry.template.LANDMARK_NAMES`.
        aus: the AU codes that move, in the order given.
    """

    frames: np.ndarray
    apex: int
    landmarks: np.ndarray
    aus: tuple[str, ...]

    @property
    def length(self) -> int:
        return len(self.frames)


class FaceFilmer:
    """Renders clips of subject ``s`` of simulation ``seed``; faces are built once per subject."""

    def __init__(self, seed: int, size: int, color: bool = False, face_resolution: str = "quick"):
        self.seed, self.color, self.face_resolution = seed, color, face_resolution
        self.renderer = get_renderer("open3d")
        self.rig = Rig((View(width=size, height=size, **GRAY_VIEW),))
        self._faces: dict[int, FaceModel] = {}

    def face(self, s: int) -> FaceModel:
        if s not in self._faces:
            self._faces[s] = make_face(sample_identity(np.random.default_rng([self.seed, s])), self.face_resolution)
        return self._faces[s]

    def film(self, s: int, aus: tuple[str, ...], fps: float, rng: np.random.Generator, kind: str = "micro",
             amplitude_mm: tuple[float, float] | None = None, time_step: int = 1) -> Clip2D:
        """One ``kind`` event of ``aus`` on subject ``s`` at ``fps``; timing and noise from ``rng``.

        ``amplitude_mm``: the apex amplitude range (None: the kind's, :data:`mer4d.synth.events.AMPLITUDE_MM`).
        ``time_step`` k > 1 renders every k-th frame (and the last) and fills the frames between
        by linear interpolation of the shaded images, each with its own sensor noise: a cheap
        stand-in for a high-speed camera, whose neighbouring frames barely differ.
        """
        from mer4d.core.containers import MeshSeq

        face = self.face(s)
        window = math.ceil((0.6 if kind == "micro" else 4.5) * fps)
        event = sample_event(rng, kind, fps, window, aus, amplitude_range=amplitude_mm, face=face)
        drift = head_drift(window, fps)
        animation = synthesize(face, [(_profile(event, window), event.aus)], window, fps, rng, Distractors(head_motion_mm=drift, head_motion_deg=drift))
        span = list(range(event.onset, event.offset + 1))
        keys = sorted({*span[::max(1, int(time_step))], span[-1]})
        mesh = face.mesh
        rendered = self.renderer.render(MeshSeq(animation.vertices[keys], mesh.faces, fps, uvs=mesh.uvs, texture=mesh.texture), self.rig)
        lit = _fill_between(shade(rendered.texture[:, 0], rendered.normals[:, 0], rendered.mask[:, 0]), keys, span)
        frames = np.stack([to_uint8(f if self.color else f @ _GRAY, rng) for f in lit])
        points = face.landmark_positions(animation.vertices[span])
        uv, _ = project(self.rig.views[0], points.reshape(-1, 3))
        return Clip2D(frames, event.apex - event.onset, uv.reshape(len(span), len(LANDMARK_NAMES), 2), tuple(aus))


def _fill_between(images: np.ndarray, keys: list[int], span: list[int]) -> np.ndarray:
    """Images at every frame of ``span`` from those rendered at ``keys`` (a sorted subset holding
    both ends), linearly interpolated in time."""
    if len(keys) == len(span):
        return images
    position = np.interp(span, keys, np.arange(len(keys), dtype=float))
    lo = np.minimum(np.floor(position).astype(int), len(keys) - 2)
    w = (position - lo)[:, None, None, None] if images.ndim == 4 else (position - lo)[:, None, None]
    return (1.0 - w) * images[lo] + w * images[lo + 1]


def _profile(event, window: int) -> np.ndarray:
    from mer4d.synth.events import profile

    return profile(event, window)


def subject_plan(per_subject: tuple[int, ...], subjects: object = None, clips_per_subject: object = None) -> tuple[int, ...]:
    """Clips per subject of a writer's size, with the ``subjects`` / ``clips_per_subject`` overrides
    applied (more subjects cycle the size's counts); at least 2 subjects with 1 clip each."""
    if subjects is not None or clips_per_subject is not None:
        n = len(per_subject) if subjects is None else int(subjects)
        per_subject = tuple(int(clips_per_subject) for _ in range(n)) if clips_per_subject is not None else tuple(per_subject[j % len(per_subject)] for j in range(n))
    if len(per_subject) < 2 or min(per_subject) < 1:
        from mer4d.core.errors import DataError

        raise DataError(f"the simulator needs at least 2 subjects with 1 clip each for subject-independent folds, got {per_subject}")
    return tuple(per_subject)
