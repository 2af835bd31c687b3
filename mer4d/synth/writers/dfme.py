"""Write a simulated dataset in the DFME release layout (read back by ``mer4d.data.datasets.dfme``).

As the release (datasets.md §7)::

    full_release_annotation/training_full_with_AU.xlsx   # Sheet1, the nine release columns
    full_release_annotation/testA_full_with_AU.xlsx
    full_release_annotation/testB_full_with_AU.xlsx
    train_data/train_data/sub0003_01/00000.png           # {Filename}/{frame:05d}.png, 0-based in the clip
    test_data_A/test_data_A/...   test_data_B/test_data_B/...

* Each subject belongs to one part and is filmed at its rate (Part A 500, B 300, C 200 fps),
  cycling A, B, C over the subjects: a 0.25-0.5 s micro-expression is 125-250 frames at 500 fps,
  and the files and sheets are those of the real rate. ``published`` renders every frame at 128 px.
  ``quick`` subsamples in time and space: it renders every 5th frame and fills the four between by
  linear interpolation (each with its own sensor noise), at 64 px, for 12 + 4 + 4 subjects with
  192 + 48 + 48 clips (a linear probe on apex - onset images separates the classes: UF1 0.30 vs
  0.13 with shuffled labels, 5 subject folds).
* A clip folder holds frames 0..offset: like the release, about half the clips start at their onset
  (``OnsetFrame`` 0); the others get a neutral lead-in of copies of the onset frame (with fresh
  sensor noise), so ``OnsetFrame`` > 0.
* Emotions are drawn with the release's training-sheet proportions (disgust 548, surprise 298,
  sadness 278, fear 265, happiness 206, anger 161, contempt 100 of 1856), every class at least once
  per sheet. The AUs of a clip are one of the emotion's high-occurrence combinations of the DFME
  paper's Table IV, drawn uniformly (the table gives no frequencies); anger and fear share
  AU4+AU5 there, which keeps the confusions the paper reports, and the other combinations tell the
  seven classes apart. With probability 0.25 a negative clip also shows one of Table IV's shared
  combinations (AU4, AU4+AU7, AU7, AU24), as the paper says they co-occur with all four.
* The sheets write ``Subject`` ``sub0003``, ``Filename`` ``sub0003_01``, a single bilateral AU as a
  number cell and combinations as text (``4+7``, ``L12``), ``EmotionId`` by the fixed mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.synth.writers.clips2d import FaceFilmer
from mer4d.synth.writers.files import write_xlsx

EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")  # EmotionId order
TRAIN_COUNTS = {"disgust": 548, "surprise": 298, "sadness": 278, "fear": 265, "happiness": 206, "anger": 161, "contempt": 100}
PART_FPS = (500, 300, 200)
# DFME Table IV: the high-occurrence AU combinations of each emotion in the micro-expressions.
TABLE_IV: dict[str, tuple[tuple[str, ...], ...]] = {
    "anger": (("AU4", "AU5"), ("AU23",)),
    "contempt": (("L12",), ("R12",), ("AU6", "L12"), ("AU6", "R12")),
    "disgust": (("AU4", "AU7", "AU10"), ("AU14",)),
    "fear": (("AU14", "AU24"), ("AU1", "AU4"), ("AU4", "AU5")),
    "happiness": (("AU6", "AU12"), ("AU12",)),
    "sadness": (("AU14",), ("AU17",), ("AU15",), ("AU14", "AU24")),
    "surprise": (("AU1", "AU2", "AU5"), ("AU1", "AU2"), ("AU5",)),
}
SHARED = (("AU4",), ("AU4", "AU7"), ("AU7",), ("AU24",))
SHARED_BY = ("anger", "disgust", "fear", "sadness")
SHARED_RATE = 0.25
HEADER = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU")
ANNOTATION_FOLDER = "full_release_annotation"
SHEETS = {"train": ("training_full_with_AU.xlsx", "train_data"), "testA": ("testA_full_with_AU.xlsx", "test_data_A"),
          "testB": ("testB_full_with_AU.xlsx", "test_data_B")}


@dataclass(frozen=True)
class SizeSpec:
    subjects: dict[str, int]  # sheet -> subjects
    clips: dict[str, int]  # sheet -> clips (spread evenly over the sheet's subjects)
    size_px: int
    time_step: int = 1  # render every k-th frame of the part's rate, interpolate the rest (FaceFilmer.film)


SIZES = {
    "quick": SizeSpec({"train": 12, "testA": 4, "testB": 4}, {"train": 192, "testA": 48, "testB": 48}, 64, 5),
    "published": SizeSpec({"train": 176, "testA": 42, "testB": 41}, {"train": 1856, "testA": 474, "testB": 299}, 128),
}
OVERRIDES = ("subjects", "clips_per_subject", "size_px")


def write_dfme(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, **overrides) -> Path:
    """Write the simulated DFME-layout dataset into ``out`` (created if needed) and return ``out``.

    Args:
        out: the dataset root.
        size: ``quick`` (12 training subjects with 192 clips, 4 + 4 test subjects with 48 clips each,
            64 px, every 5th frame rendered) or ``published`` (the release's 176 / 42 / 41 subjects and 1856 / 474 / 299 clips,
            128 px; slow).
        seed: the same seed writes the same bytes.
        overrides: ``subjects`` (training subjects; each test sheet gets a third of them, at least 2),
            ``clips_per_subject`` (every subject), ``size_px``.
    """
    spec = _size_spec(size, overrides)
    out = Path(out)
    filmer = FaceFilmer(seed, spec.size_px, color=True)
    plan = _plan(spec, seed)
    (out / ANNOTATION_FOLDER).mkdir(parents=True, exist_ok=True)
    bar = progress_bar(total=sum(len(clips) for _, clips in plan), desc=f"simulating DFME ({size})", unit="clip", disable=not progress)
    for sheet, clips in plan:
        file_name, frames_name = SHEETS[sheet]
        tree = out / frames_name / frames_name
        rows = []
        for s, subject, filename, emotion in clips:
            rows.append(_write_clip(tree, filmer, seed, s, subject, filename, emotion, spec.time_step))
            bar.update()
        write_xlsx(out / ANNOTATION_FOLDER / file_name, pd.DataFrame(rows, columns=list(HEADER), dtype=object))
    bar.close()
    return out


def _size_spec(size: str, overrides: dict) -> SizeSpec:
    if size not in SIZES:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES)}")
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise DataError(f"write_dfme: unknown override(s) {unknown}; expected some of {list(OVERRIDES)}")
    spec = SIZES[size]
    subjects = dict(spec.subjects)
    if overrides.get("subjects") is not None:
        n = int(overrides["subjects"])
        if n < 2:
            raise DataError(f"write_dfme: subjects must be >= 2 (subject-independent folds), got {n}")
        subjects = {"train": n, "testA": max(2, n // 3), "testB": max(2, n // 3)}
    clips = {sheet: round(spec.clips[sheet] * subjects[sheet] / spec.subjects[sheet]) for sheet in subjects}
    if overrides.get("clips_per_subject") is not None:
        clips = {sheet: int(overrides["clips_per_subject"]) * count for sheet, count in subjects.items()}
    if min(clips.values()) < 1:
        raise DataError(f"write_dfme: every sheet needs at least one clip, got {clips}")
    return SizeSpec(subjects, clips, int(overrides.get("size_px", spec.size_px)), spec.time_step)


def _emotions(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` emotions with the training sheet's proportions, every class once when n allows."""
    names = list(TRAIN_COUNTS)
    p = np.array(list(TRAIN_COUNTS.values()), dtype=float)
    drawn = names[: min(n, len(names))] + [names[j] for j in rng.choice(len(names), size=max(0, n - len(names)), p=p / p.sum())]
    return [drawn[j] for j in rng.permutation(n)]


def _plan(spec: SizeSpec, seed: int) -> list[tuple[str, list[tuple[int, str, str, str]]]]:
    """Per sheet: (subject number, Subject, Filename, emotion) of each clip; subjects numbered across sheets."""
    plan, s = [], 0
    for k, sheet in enumerate(SHEETS):
        rng = np.random.default_rng([seed, 7, k])
        emotions = _emotions(rng, spec.clips[sheet])
        count = spec.subjects[sheet]
        per_subject = [len(range(j, spec.clips[sheet], count)) for j in range(count)]
        clips, e = [], 0
        for j in range(count):
            subject = f"sub{s + 1:04d}"
            for i in range(per_subject[j]):
                clips.append((s, subject, f"{subject}_{i + 1:02d}", emotions[e]))
                e += 1
            s += 1
        plan.append((sheet, clips))
    return plan


def draw_aus(rng: np.random.Generator, emotion: str) -> tuple[str, ...]:
    """One Table IV combination of ``emotion`` (plus, for the negative four, sometimes a shared one)."""
    choices = TABLE_IV[emotion]
    aus = list(choices[int(rng.integers(len(choices)))])
    if emotion in SHARED_BY and rng.random() < SHARED_RATE:
        aus += [au for au in SHARED[int(rng.integers(len(SHARED)))] if au not in aus]
    return tuple(aus)


def au_cell(codes: tuple[str, ...]) -> int | str:
    """Release notation: ``("AU4", "AU7")`` -> ``"4+7"``; a single bilateral AU as a number cell."""
    written = [c[2:] if c.startswith("AU") else c for c in codes]
    return int(written[0]) if len(written) == 1 and written[0].isdigit() else "+".join(written)


def _write_clip(tree: Path, filmer: FaceFilmer, seed: int, s: int, subject: str, filename: str, emotion: str, time_step: int = 1) -> list:
    rng = np.random.default_rng([seed, s, int(filename.rsplit("_", 1)[1])])
    fps = PART_FPS[s % len(PART_FPS)]
    aus = draw_aus(rng, emotion)
    clip = filmer.film(s, aus, float(fps), rng, time_step=time_step)
    lead = 0 if rng.random() < 0.5 else int(rng.integers(1, max(2, fps // 25)))
    folder = tree / filename
    folder.mkdir(parents=True, exist_ok=True)
    onset_frame = clip.frames[0].astype(np.int16)
    for k in range(lead):  # neutral lead-in: the onset frame with fresh sensor noise
        noisy = np.clip(onset_frame + rng.integers(-2, 3, onset_frame.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{k:05d}.png"), np.ascontiguousarray(noisy[..., ::-1]))
    for k, frame in enumerate(clip.frames):
        cv2.imwrite(str(folder / f"{lead + k:05d}.png"), np.ascontiguousarray(frame[..., ::-1]))
    offset = lead + clip.length - 1
    return [subject, filename, lead, lead + clip.apex, offset, emotion, EMOTIONS.index(emotion), fps, au_cell(aus)]
