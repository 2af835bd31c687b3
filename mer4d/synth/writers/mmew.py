"""Write a simulated dataset in the MMEW layout (read back by ``mer4d.data.datasets.mmew``).

Layout (datasets.md §8)::

    OUT/MMEW_Micro_Exp.xlsx                                   one sheet, header on row 1
    OUT/Micro_Expression/{emotion}/{Filename}/{N}.jpg         RGB, N = 1..len unpadded, 90 fps

The sheet has the release's columns ``Subject | Filename | OnsetFrame | ApexFrame | OffsetFrame |
Action Units | Estimated Emotion | remarks``; emotions are lower case, a single bilateral AU is a
number cell (``12``) and combinations are text (``6+12``, ``L12``), as in CASME II (the MMEW AU
cells themselves were never seen). Each clip folder holds the event from its onset (``1.jpg``)
to its offset, so ``OnsetFrame`` is 1 and ``OffsetFrame`` the number of files.

Simulator conventions where the release is unknown: ``Subject`` ``S01``..``S36``; ``Filename``
``S{person:02d}-{emotion code:02d}-{sample:03d}`` with happiness = 01 (datasets.md's example
``happiness/S03-01-002``) and the other codes guessed; rows sorted by Filename; ``remarks`` empty;
``Macro_Expression`` (stills the loader does not index) is not written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.synth.catalog import draw_emotion_aus
from mer4d.synth.writers.clips2d import FaceFilmer
from mer4d.synth.writers.files import write_xlsx

FPS = 90.0
LABEL_FILE = "MMEW_Micro_Exp.xlsx"
MICRO_DIR = "Micro_Expression"
HEADER = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion", "remarks")
# Filename emotion codes: happiness = 01 from datasets.md's example, the rest a simulator guess.
EMOTION_CODES = {"happiness": 1, "surprise": 2, "disgust": 3, "fear": 4, "sadness": 5, "others": 6, "anger": 7}
# Per-class clip counts of the MMEW paper (datasets.md §8; 300 in all).
PUBLISHED_COUNTS = {"happiness": 36, "anger": 8, "surprise": 89, "disgust": 72, "fear": 16, "sadness": 13, "others": 66}


@dataclass(frozen=True)
class SizeSpec:
    subjects: int
    counts: dict[str, int]  # clips per emotion, spread over the subjects
    size_px: int  # square frame side
    face: str  # face model resolution


SIZES = {
    "quick": SizeSpec(4, {"happiness": 3, "surprise": 3, "anger": 1, "disgust": 3, "fear": 1, "sadness": 1, "others": 2}, 48, "quick"),
    "published": SizeSpec(36, PUBLISHED_COUNTS, 231, "full"),  # 231 px: the face crops of one circulating copy (datasets.md §8)
}
SIZES["full"] = SIZES["published"]  # the name `mer4d data synth --size` offers for every writer


@dataclass(frozen=True)
class PlannedClip:
    """One clip the writer will film: its sheet identity and label."""

    subject: str
    filename: str
    emotion: str
    subject_index: int


def size_spec(size: str, **overrides) -> SizeSpec:
    """The :data:`SIZES` entry ``size`` with ``overrides`` (``subjects``, ``counts``, ``size_px``, ``face``; None keeps the size's)."""
    if size not in SIZES:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}  # None = the size's own value (CLI defaults)
    names = {f.name for f in fields(SizeSpec)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise DataError(f"MMEW writer: unknown option(s) {unknown}; accepted: {sorted(names)}")
    spec = replace(SIZES[size], **overrides)
    stray = sorted(set(spec.counts) - set(EMOTION_CODES))
    if stray:
        raise DataError(f"MMEW writer: counts name {stray}, which are not MMEW emotions {sorted(EMOTION_CODES)}")
    if spec.subjects < 2:
        raise DataError(f"the simulator needs at least 2 subjects for subject-independent folds, got {spec.subjects}")
    if sum(spec.counts.values()) < spec.subjects:
        raise DataError(f"MMEW writer: {sum(spec.counts.values())} clips cannot give each of {spec.subjects} subjects one")
    return spec


def plan_clips(spec: SizeSpec, seed: int) -> list[PlannedClip]:
    """Which subject shows which emotion: the clips shuffled by ``seed`` and dealt round-robin (every subject gets one)."""
    emotions = [e for e, n in spec.counts.items() for _ in range(n)]
    order = np.random.default_rng([seed, 0x4D4D]).permutation(len(emotions))
    samples: Counter[tuple[int, str]] = Counter()
    planned = []
    for k, i in enumerate(order):
        s, emotion = k % spec.subjects, emotions[i]
        samples[s, emotion] += 1
        person = f"S{s + 1:02d}"
        planned.append(PlannedClip(person, f"{person}-{EMOTION_CODES[emotion]:02d}-{samples[s, emotion]:03d}", emotion, s))
    return sorted(planned, key=lambda c: c.filename)


def au_cell(codes: tuple[str, ...]) -> int | str:
    """MMEW/CASME II AU notation: ``("AU6", "AU12")`` -> ``"6+12"``; one bilateral AU -> the number 12."""
    text = [c[2:] if c.startswith("AU") else c for c in codes]
    return int(text[0]) if len(text) == 1 and text[0].isdigit() else "+".join(text)


def write_mmew(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, **overrides) -> Path:
    """Write the simulated MMEW-layout dataset into ``out`` (created) and return ``out``.

    ``overrides`` replace fields of the size (``subjects``, ``counts``, ``size_px``, ``face``).
    """
    spec = size_spec(size, **overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    filmer = FaceFilmer(seed, spec.size_px, color=True, face_resolution=spec.face)
    rows = [list(HEADER)]
    for k, clip in enumerate(progress_bar(plan_clips(spec, seed), desc=f"simulating MMEW ({size})", unit="clip", disable=not progress)):
        rng = np.random.default_rng([seed, clip.subject_index, k])
        aus = draw_emotion_aus(rng, clip.emotion)
        film = filmer.film(clip.subject_index, aus, FPS, rng, "micro")
        folder = out / MICRO_DIR / clip.emotion / clip.filename
        folder.mkdir(parents=True, exist_ok=True)
        for n, frame in enumerate(film.frames, start=1):  # 1-based within the clip (datasets.md §0.2)
            cv2.imwrite(str(folder / f"{n}.jpg"), np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append([clip.subject, clip.filename, 1, film.apex + 1, film.length, au_cell(aus), clip.emotion, None])
    write_xlsx(out / LABEL_FILE, pd.DataFrame(rows), header=False)
    return out
