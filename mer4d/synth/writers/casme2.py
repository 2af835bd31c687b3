"""Write a simulated dataset in the CASME II layout (read back by ``mer4d.data.datasets.casme2``).

As the real release (datasets.md §1)::

    CASME2-coding-20190701.xlsx                       # Sheet1: the 2019 columns, blank columns C and G
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg      # 4:3 colour frames, absolute unpadded numbers
    Cropped/sub01/EP02_01f/reg_img46.jpg              # the face crop of the same frames

Clips are filmed at 200 fps with :class:`~mer4d.synth.writers.clips2d.FaceFilmer`; each clip folder
holds frames ``OnsetFrame``..``OffsetFrame`` only, as ``CASME2_RAW_selected`` does. The sheet writes
``Subject`` as text (``"01"``), a single bilateral AU as a number cell (``12``) and combinations or
one-sided AUs as text (``"4+L10"``, ``"R12"``), emotions in lower case. Only ``Sheet1`` is written
(the release's ``Sheet2``/``Sheet3`` are empty). The objective class of a clip is looked up from its
AUs in a small table after Davison et al. 2018 (an approximation; the real file is not this regular).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.synth.catalog import draw_emotion_aus
from mer4d.synth.writers.clips2d import FaceFilmer, subject_plan
from mer4d.synth.writers.files import write_xlsx

FPS = 200.0
CODING_FILE = "CASME2-coding-20190701.xlsx"
RAW_TREE, CROPPED_TREE = "CASME2_RAW_selected", "Cropped"
HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units", "Estimated Emotion", "Objective Classes")
EMOTIONS = ("happiness", "disgust", "surprise", "repression", "fear", "sadness", "others")
# The 2019 file: clips per subject sub01..sub26 and clips per emotion (255 in all).
PUBLISHED_PER_SUBJECT = (9, 13, 7, 5, 19, 5, 9, 3, 14, 14, 10, 12, 8, 4, 3, 4, 36, 3, 16, 11, 2, 2, 12, 10, 7, 17)
PUBLISHED_EMOTIONS = {"others": 99, "disgust": 63, "happiness": 32, "surprise": 28, "repression": 27, "sadness": 4, "fear": 2}
F_SUFFIX_RATE = 72 / 255  # share of release file names ending in 'f' (EP02_01f)
# Objective class (Davison et al. 2018, I..VII written 1..7) of a set of AU numbers; others -> 7.
_OBJECTIVE = {
    frozenset({12}): 1, frozenset({6, 12}): 1, frozenset({6}): 1,
    frozenset({1, 2}): 2, frozenset({5}): 2, frozenset({1, 2, 5}): 2, frozenset({25}): 2,
    frozenset({4}): 3, frozenset({4, 7}): 3, frozenset({7}): 3,
    frozenset({9}): 4, frozenset({10}): 4, frozenset({4, 9}): 4, frozenset({4, 7, 10}): 4,
    frozenset({1}): 5, frozenset({15}): 5, frozenset({1, 4}): 5, frozenset({15, 17}): 5, frozenset({1, 4, 15}): 5,
    frozenset({20}): 6, frozenset({4, 20}): 6, frozenset({1, 2, 4, 20}): 6,
}


@dataclass(frozen=True)
class SizeSpec:
    per_subject: tuple[int, ...]  # clips of each subject
    size_px: int  # side of the cropped face frames; raw frames are 4:3 around them
    trees: tuple[str, ...] = (RAW_TREE, CROPPED_TREE)


SIZES = {
    "quick": SizeSpec((4, 4, 4), 48),
    "published": SizeSpec(PUBLISHED_PER_SUBJECT, 192),
}
OVERRIDES = ("subjects", "clips_per_subject", "size_px", "trees")


def write_casme2(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, clips: Sequence[tuple[str, str, str]] | None = None,
                 **overrides) -> Path:
    """Write the simulated CASME II-layout dataset into ``out`` (created if needed) and return ``out``.

    Args:
        out: the dataset root (coding file and frame trees go directly in it).
        size: ``quick`` (3 subjects x 4 clips, 48 px, every emotion present) or ``published``
            (the 2019 file's 26 subjects, 255 clips and per-emotion counts; slow).
        seed: the same seed writes the same bytes.
        clips: lay out exactly these clips instead of the size's plan, as ``(Subject, Filename,
            emotion)`` in the coding file's spelling (``("01", "EP02_01f", "happiness")``), in
            sheet order; the size then sets only the frame size (the MEGC2019 writer uses this).
        overrides: ``subjects``, ``clips_per_subject``, ``size_px``, ``trees`` (a subset of
            ``("CASME2_RAW_selected", "Cropped")``).
    """
    if clips is not None and {"subjects", "clips_per_subject"} & set(overrides):
        raise DataError("write_casme2: clips= lists the clips itself; drop the subjects / clips_per_subject overrides")
    spec = _size_spec(size, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    filmer = FaceFilmer(seed, spec.size_px, color=True)
    if clips is None:
        rng = np.random.default_rng([seed, 2])
        emotions = _emotions(rng, sum(spec.per_subject), size)
        names = {s: _filenames(np.random.default_rng([seed, 3, s]), count) for s, count in enumerate(spec.per_subject)}
        jobs = [(s, i, f"{s + 1:02d}", names[s][i]) for s, count in enumerate(spec.per_subject) for i in range(count)]
    else:
        jobs, emotions = _listed_jobs(clips)
    rows = []
    for k, (s, i, subject, name) in enumerate(progress_bar(jobs, desc=f"simulating CASME II ({size})", unit="clip", disable=not progress)):
        rows.append(_write_clip(out, filmer, spec, seed, s, i, subject, name, emotions[k]))
    table = pd.DataFrame([list(HEADER)] + rows, dtype=object)
    write_xlsx(out / CODING_FILE, table, header=False)
    return out


def _listed_jobs(clips: Sequence[tuple[str, str, str]]) -> tuple[list[tuple[int, int, str, str]], list[str]]:
    """``(subject number, clip number within the subject, Subject, Filename)`` of each listed clip, and its emotion."""
    jobs, emotions, seen, counts = [], [], set(), {}
    for subject, name, emotion in clips:
        if not (len(subject) == 2 and subject.isdigit()) or emotion not in EMOTIONS or (subject, name) in seen:
            raise DataError(f"write_casme2: clip {(subject, name, emotion)!r} is not (two-digit Subject, new Filename, one of {list(EMOTIONS)})")
        seen.add((subject, name))
        s = int(subject) - 1  # the subject's identity follows its number, as in the size's plan
        jobs.append((s, counts.get(s, 0), subject, name))
        counts[s] = counts.get(s, 0) + 1
        emotions.append(emotion)
    if len(counts) < 2:
        raise DataError(f"the simulator needs at least 2 subjects for subject-independent folds, got clips of {sorted(counts)}")
    return jobs, emotions


def _size_spec(size: str, overrides: dict) -> SizeSpec:
    if size not in SIZES:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES)}")
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise DataError(f"write_casme2: unknown override(s) {unknown}; expected some of {list(OVERRIDES)}")
    spec = SIZES[size]
    spec = replace(spec, per_subject=subject_plan(spec.per_subject, overrides.get("subjects"), overrides.get("clips_per_subject")))
    trees = tuple(overrides.get("trees", spec.trees))
    if not trees or set(trees) - {RAW_TREE, CROPPED_TREE}:
        raise DataError(f"write_casme2: trees must be a non-empty subset of {[RAW_TREE, CROPPED_TREE]}, got {list(trees)}")
    return replace(spec, size_px=int(overrides.get("size_px", spec.size_px)), trees=trees)


def _emotions(rng: np.random.Generator, n: int, size: str) -> list[str]:
    """Clip emotions: the published counts in ``published`` size; else every class once, then the published mix."""
    if size == "published" and n == sum(PUBLISHED_EMOTIONS.values()):
        pool = [e for e, count in PUBLISHED_EMOTIONS.items() for _ in range(count)]
        return [pool[j] for j in rng.permutation(n)]
    names, counts = list(PUBLISHED_EMOTIONS), np.array(list(PUBLISHED_EMOTIONS.values()), dtype=float)
    drawn = list(EMOTIONS[:n]) + [names[j] for j in rng.choice(len(names), size=max(0, n - len(EMOTIONS)), p=counts / counts.sum())]
    return [drawn[j] for j in rng.permutation(n)]


def _filenames(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct release-style clip names ``EP{xx}_{yy}`` (+ ``f`` for some), in sheet order."""
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < count:
        chosen.add((int(rng.integers(1, 20)), int(rng.integers(1, 20))))
    return [f"EP{ep:02d}_{k:02d}{'f' if rng.random() < F_SUFFIX_RATE else ''}" for ep, k in sorted(chosen)]


def au_cell(codes: tuple[str, ...]) -> int | str:
    """CASME II notation: ``("AU4", "L10")`` -> ``"4+L10"``; a single bilateral AU as a number cell."""
    written = [c[2:] if c.startswith("AU") else c for c in codes]
    return int(written[0]) if len(written) == 1 and written[0].isdigit() else "+".join(written)


def objective_class(codes: tuple[str, ...]) -> int:
    numbers = frozenset(int("".join(ch for ch in c if ch.isdigit())) for c in codes)
    return _OBJECTIVE.get(numbers, 7)


def _write_clip(out: Path, filmer: FaceFilmer, spec: SizeSpec, seed: int, s: int, i: int, subject: str, name: str, emotion: str) -> list:
    rng = np.random.default_rng([seed, s, i])
    aus = draw_emotion_aus(rng, emotion)
    clip = filmer.film(s, aus, FPS, rng)
    onset = int(rng.integers(4, 150))  # the release's onsets run from 4 (frame numbers of the long takes)
    for tree in spec.trees:
        folder = out / tree / f"sub{subject}" / name
        folder.mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(clip.frames):
            image = _raw_frame(frame) if tree == RAW_TREE else frame
            prefix = "img" if tree == RAW_TREE else "reg_img"
            cv2.imwrite(str(folder / f"{prefix}{onset + k}.jpg"), np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return [subject, name, None, onset, onset + clip.apex, onset + clip.length - 1, None, au_cell(aus), emotion, objective_class(aus)]


def _raw_frame(face: np.ndarray) -> np.ndarray:
    """The face crop placed in a 4:3 frame (640x480 in the release) on a plain background."""
    h, w = face.shape[:2]
    width = (h * 4 // 3 + 1) // 2 * 2
    frame = np.full((h, width, 3), 48, dtype=np.uint8)
    left = (width - w) // 2
    frame[:, left : left + w] = face
    return frame
