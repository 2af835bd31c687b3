"""Write a simulated dataset in the SMIC clip-release layout (read back by ``mer4d.data.datasets.smic``).

Layout (datasets.md §3), for ``camera`` HS (default), VIS or NIR::

    <out>/SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image046123.bmp
    <out>/smic_apex.xlsx        # HS only: the third-party apex list's columns and cell types

Each clip holds the frames of one event, onset to offset, named with absolute frame numbers
(zero-padded to 6 digits; subjects whose real recordings run past 999999 get 7- or 8-digit
numbers, as s20's ``image17581039`` in the apex list). The emotion is the folder name and the
clip name's code; the AUs are drawn for that emotion (``catalog.draw_emotion_aus``). HS and VIS
frames are colour, NIR frames gray (4DME Table 1: HS (RGB), VIS (RGB), NIR). The apex list is
laid out like the one that circulates (``data, subject, clip, label, onset_frame, apex_frame,
offset_frame`` and three ``image{N}.jpg`` path columns into SMIC-HS-E; label 0/1/2 =
negative/positive/surprise; numbers as number cells), including its last rows, which have no
offset and no paths.

Sizes: ``quick`` (3 subjects x 4 clips, 64 px) and ``published`` (HS: the apex list's 16 subjects
and 164 clips with its per-subject class counts; VIS/NIR: 8 subjects and 71 clips with the class
counts of 4DME Table 1; 128 px). Which 8 subjects VIS and NIR hold is not known (datasets.md §3
gives only the count): the eight recorded last (s11..s20 of the HS list) are a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.synth.catalog import draw_emotion_aus
from mer4d.synth.writers.clips2d import FaceFilmer
from mer4d.synth.writers.files import write_xlsx

FPS = {"HS": 100.0, "VIS": 25.0, "NIR": 25.0}
CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}
LABELS = {"negative": 0, "positive": 1, "surprise": 2}
# HS subject -> clips (negative, positive, surprise) in the apex list (164 clips: 70 / 51 / 43).
HS_PUBLISHED: dict[int, tuple[int, int, int]] = {
    1: (3, 2, 1), 2: (0, 1, 5), 3: (22, 11, 6), 4: (10, 4, 5), 5: (1, 0, 1), 6: (2, 0, 2), 8: (9, 4, 0), 9: (0, 1, 3),
    11: (3, 3, 1), 12: (0, 8, 1), 13: (0, 10, 0), 14: (3, 2, 5), 15: (1, 1, 2), 18: (2, 0, 5), 19: (0, 1, 1), 20: (14, 3, 5),
}
VIS_NIR_SUBJECTS = (11, 12, 13, 14, 15, 18, 19, 20)  # a guess (see the module docstring)
# 71 clips each, 4DME Table 1 (DFME's Table I gives VIS as 23 / 28 / 20, like NIR).
VIS_NIR_COUNTS = {"VIS": (24, 28, 19), "NIR": (23, 28, 20)}
# Apex-list rows with no offset_frame and no paths (the last seven rows of the circulating file).
NO_OFFSET = ("s3_ne_03", "s3_ne_20", "s4_ne_05", "s4_ne_06", "s1_ne_02", "s2_sur_05", "s9_sur_02")
# Subjects whose frame numbers in the apex list run past 6 digits, and where they start.
LONG_NUMBERS = {5: 880_000, 12: 8_390_000, 18: 1_640_000, 19: 32_480_000, 20: 17_580_000}
APEX_FILE = "smic_apex.xlsx"
APEX_COLUMNS = ("data", "subject", "clip", "label", "onset_frame", "apex_frame", "offset_frame", "onset_frame_path", "apex_frame_path",
                "offset_frame_path")


@dataclass(frozen=True)
class SizeSpec:
    subjects: dict[str, tuple[int, ...]]  # camera -> subject numbers
    clips_per_subject: int | None  # None: the published per-subject counts
    size_px: int
    face: str


SIZES = {
    "quick": SizeSpec({"HS": (1, 3, 20), "VIS": (11, 14, 20), "NIR": (11, 14, 20)}, 4, 64, "quick"),
    "published": SizeSpec({"HS": tuple(HS_PUBLISHED), "VIS": VIS_NIR_SUBJECTS, "NIR": VIS_NIR_SUBJECTS}, None, 128, "quick"),
}
SIZES["full"] = SIZES["published"]  # the name `mer4d data synth --size` uses for the large size


def write_smic(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, camera: str = "HS", subjects: int | None = None,
               clips_per_subject: int | None = None, clips: Sequence[tuple[str, str, str]] | None = None, size_px: int | None = None) -> Path:
    """Write the simulated SMIC layout for ``camera`` into ``out`` (created).

    Args:
        out: the dataset root (gets ``SMIC_all_cropped/`` and, for HS, ``smic_apex.xlsx``).
        size: ``"quick"`` or ``"published"`` (``"full"`` is the same).
        seed: everything is a function of it (same seed -> same files).
        camera: ``"HS"``, ``"VIS"`` or ``"NIR"``.
        subjects: keep only the first ``subjects`` subjects of the size.
        clips_per_subject: clips per subject, classes taken in turn (default: the size's).
        clips: lay out exactly these clips instead of the size's plan, as ``(subject folder, clip
            folder, emotion folder)`` (``("s1", "s1_ne_01", "negative")``), in order; the size then
            sets only the frame size (the MEGC2019 writer uses this).
        size_px: the frame side (default: the size's).
    """
    if size not in SIZES:
        raise DataError(f"unknown simulator size {size!r}; expected one of {sorted(SIZES)}")
    if camera not in FPS:
        raise DataError(f"unknown SMIC camera {camera!r}; expected one of {list(FPS)}")
    spec = SIZES[size]
    if clips is None:
        numbers = spec.subjects[camera]
        if subjects is not None and not 2 <= subjects <= len(numbers):
            raise DataError(f"subjects={subjects}: the {size} SMIC-{camera} simulation has 2..{len(numbers)} subjects")
        numbers = numbers[:subjects] if subjects else numbers
        counters: dict[tuple[int, str], int] = {}
        plan = []
        for i, n in enumerate(numbers):
            for emotion in _emotions(camera, n, i, clips_per_subject or spec.clips_per_subject):
                counters[n, emotion] = counters.get((n, emotion), 0) + 1
                plan.append((n, emotion, f"s{n}_{CODES[emotion]}_{counters[n, emotion]:02d}"))
    elif subjects is not None or clips_per_subject is not None:
        raise DataError("write_smic: clips= lists the clips itself; drop subjects / clips_per_subject")
    else:
        plan = _listed_plan(clips)
        numbers = tuple(dict.fromkeys(n for n, _, _ in plan))
    out = Path(out)
    tree = out / "SMIC_all_cropped" / camera
    tree.mkdir(parents=True, exist_ok=True)
    filmer = FaceFilmer(seed, size_px or spec.size_px, color=camera != "NIR", face_resolution=spec.face)
    starts = {n: LONG_NUMBERS.get(n, int(np.random.default_rng([seed, n, 7]).integers(30_000, 300_000))) for n in numbers}
    rows = []
    for k, (n, emotion, name) in enumerate(progress_bar(plan, desc=f"simulating SMIC-{camera} ({size})", unit="clip", disable=not progress)):
        rng = np.random.default_rng([seed, n, k])
        clip = filmer.film(numbers.index(n), draw_emotion_aus(rng, emotion), FPS[camera], rng)
        onset = starts[n] = starts[n] + int(rng.integers(300, 20_000))
        starts[n] += clip.length
        folder = tree / f"s{n}" / "micro" / emotion / name
        folder.mkdir(parents=True)
        for t, image in enumerate(clip.frames):
            cv2.imwrite(str(folder / f"reg_image{onset + t:06d}.bmp"), image[..., ::-1] if image.ndim == 3 else image)
        rows.append(_apex_row(n, name, emotion, onset, onset + clip.apex, onset + clip.length - 1))
    if camera == "HS":
        last = [r for r in rows if r["clip"] in NO_OFFSET]
        write_xlsx(out / APEX_FILE, pd.DataFrame([r for r in rows if r["clip"] not in NO_OFFSET] + last, columns=list(APEX_COLUMNS)))
    return out


_CLIP = re.compile(r"^s(\d+)_(ne|po|sur)_\d+$")


def _listed_plan(clips: Sequence[tuple[str, str, str]]) -> list[tuple[int, str, str]]:
    """``(subject number, emotion, clip name)`` of each listed clip, checked against the release's naming (datasets.md §3)."""
    plan, seen = [], set()
    for subject, name, emotion in clips:
        match = _CLIP.match(name)
        if (match is None or subject != f"s{int(match.group(1))}" or emotion not in CODES or CODES[emotion] != match.group(2)
                or name in seen):
            raise DataError(f"write_smic: clip {(subject, name, emotion)!r} is not (subject folder 's1', new clip folder 's1_ne_01' "
                            f"whose code matches the emotion, one of {list(CODES)})")
        seen.add(name)
        plan.append((int(match.group(1)), emotion, name))
    if len({n for n, _, _ in plan}) < 2:
        raise DataError("the simulator needs at least 2 subjects for subject-independent folds")
    return plan


def _emotions(camera: str, n: int, i: int, per_subject: int | None) -> list[str]:
    """The emotions of subject ``n`` (the ``i``-th), in clip order."""
    order = list(LABELS)
    if per_subject is not None:  # every class in turn, starting one further on for each subject
        return [order[(i + j) % 3] for j in range(per_subject)]
    if camera == "HS":
        counts = HS_PUBLISHED[n]
    else:  # the published class totals dealt out over the subjects in turn
        counts = tuple(len(range(i, total, len(VIS_NIR_SUBJECTS))) for total in VIS_NIR_COUNTS[camera])
    return [e for e, count in zip(order, counts, strict=True) for _ in range(count)]


def _apex_row(n: int, name: str, emotion: str, onset: int, apex: int, offset: int) -> dict:
    """One apex-list row; the NO_OFFSET clips lack offset and paths, as in the circulating file."""
    path = f"smic/HS_long/SMIC_HS_E/s{n:02d}/{name}/image{{:06d}}.jpg"
    full = name not in NO_OFFSET
    return {"data": "smic", "subject": n, "clip": name, "label": LABELS[emotion], "onset_frame": onset, "apex_frame": apex,
            "offset_frame": offset if full else None, "onset_frame_path": path.format(onset) if full else None,
            "apex_frame_path": path.format(apex) if full else None, "offset_frame_path": path.format(offset) if full else None}
