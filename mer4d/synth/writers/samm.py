"""Write a simulated dataset in the SAMM layout (read back by ``mer4d.data.datasets.samm``).

As the real release (datasets.md §2)::

    SAMM_Micro_FACS_Codes_v2.xlsx        # sheet MICRO_ONLY: the v2 preamble (rows 1-12), header on row 14
    SAMM/006/006_1_2/006_05562.jpg       # single-channel JPEG, absolute frame numbers
    SAMM/007/007_3_1/007_2046.jpg        #   padded to 5 digits for some sequences, 4 for the others

Clips are filmed at 200 fps with :class:`~mer4d.synth.writers.clips2d.FaceFilmer`; each clip folder
holds frames ``Onset Frame``..``Offset Frame`` only. The sheet is written as the v2 file writes it:
``Subject`` as three-digit text, ``Filename`` ``{subject}_{inducement code}_{k}``, ``Duration`` as
the formula ``=SUM(F15-D15)+1`` (no cached value, so a reader sees an empty cell), ``Micro`` =
``"Micro - 1/2"``, a single bilateral AU without intensity as a number cell and everything else as
text with SAMM's intensity letters (``7B``, ``R14A``, ``4A/B``), emotions capitalised with the
singular ``Other``. The objective class of a clip is its emotion's class in Davison et al. 2018
(an approximation; the real file puts many clips of every emotion in class VII).
"""

from __future__ import annotations

import re
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
LABEL_FILE = "SAMM_Micro_FACS_Codes_v2.xlsx"
SHEET = "MICRO_ONLY"
TREES = {"raw": "SAMM", "cropped": "SAMM_CROP"}
HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration", "Micro",
          "Action Units", "Estimated Emotion", "Objective Classes", "Notes")
HEADER_ROW = 14  # Excel row of the header in the v2 file
# (Excel row, column letter, text) of the v2 file's preamble.
PREAMBLE = (
    (1, "A", "SAMM Dataset - Master FACS Codes"),
    (1, "E", "(Note to the users: If you're using SAMM, please cite: Davison, A. K., Lansley, C., Costen, N., Tan, K., & Yap, M. H. "
             "(2016). SAMM: A spontaneous micro-facial movement dataset. IEEE Transactions on Affective Computing.)"),
    (3, "A", "9/9/17 - New updates with Emotional and Objective Classes. For details please refer to: "),
    (3, "I", "arXiv preprint arXiv:1708.07549."),
    (4, "E", "(Note to the users: if you're using the emotional or objective classes, please cite: Davison, A. K., Merghani, W., & "
             "Yap, M. H. (2017). Objective Classes for Micro-Facial Expression Recognition. arXiv preprint arXiv:1708.07549.)"),
    (6, "A", "Symbol Key:"),
    (7, "A", '"/" = or'),
    (8, "A", '"?" = some AU\'s continue for a while and have unclear offset'),
    (10, "A", "AU Help:"),
    (11, "A", '"L2 or R2" = Unilateral AU 2 on left side of face / right side of face'),
    (12, "A", '"A2" = Asymmetric AU 2. Occurs on both sides of face but stronger on one side'),
)
EMOTIONS = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")
# The v2 file: clips per subject and per emotion (159 clips, 29 subjects of the 32 recorded).
PUBLISHED_SUBJECTS = {
    "006": 11, "007": 10, "009": 4, "010": 4, "011": 20, "012": 3, "013": 6, "014": 11, "015": 3, "016": 5, "017": 6, "018": 4,
    "019": 3, "020": 9, "021": 2, "022": 5, "023": 1, "024": 1, "025": 4, "026": 13, "028": 3, "030": 3, "031": 1, "032": 6,
    "033": 5, "034": 3, "035": 9, "036": 1, "037": 3,
}
PUBLISHED_EMOTIONS = {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15, "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6}
# Sequences ({subject}_{inducement code}) whose frame numbers are padded to 5 digits (datasets.md §2).
FIVE_DIGIT = frozenset({"006_1", "011_1", "012_1", "013_1", "014_1", "016_7", "018_1", "018_7", "020_1", "023_1", "026_1", "030_1",
                        "033_1", "034_7", "035_1", "035_7", "036_7"})
OBJECTIVE = {"Happiness": 1, "Surprise": 2, "Anger": 3, "Disgust": 4, "Sadness": 5, "Fear": 6, "Contempt": 7, "Other": 7}
NOTES = ("Blinks", "Eye movement", "Slight eye movement", "Slight head movement")
FRAME_ASPECT = 960 / 650  # width / height of the distributed frames


@dataclass(frozen=True)
class SizeSpec:
    per_subject: tuple[int, ...]  # clips of each subject, in PUBLISHED_SUBJECTS order
    size_px: int  # frame height (and the side of the cropped face)


SIZES = {
    "quick": SizeSpec((4, 4, 4), 48),
    "published": SizeSpec(tuple(PUBLISHED_SUBJECTS.values()), 160),
}
OVERRIDES = ("subjects", "clips_per_subject", "size_px")


def write_samm(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, frames: str = "raw",
               clips: Sequence[tuple[str, str, str]] | None = None, **overrides) -> Path:
    """Write the simulated SAMM-layout dataset into ``out`` (created if needed) and return ``out``.

    Args:
        out: the dataset root (label file and frame tree go directly in it).
        size: ``quick`` (subjects 006, 007, 009 x 4 clips, 48 px, every emotion present) or
            ``published`` (the v2 file's 29 subjects, 159 clips and per-emotion counts; slow).
        seed: the same seed writes the same bytes.
        frames: ``raw`` (``SAMM/``, faces in 960:650 frames) or ``cropped`` (``SAMM_CROP/``, the faces).
        clips: lay out exactly these clips instead of the size's plan, as ``(Subject, Filename,
            Estimated Emotion)`` in the v2 file's spelling (``("006", "006_1_2", "Anger")``), in
            sheet order; the size then sets only the frame size (the MEGC2019 writer uses this).
        overrides: ``subjects``, ``clips_per_subject``, ``size_px``.
    """
    if clips is not None and {"subjects", "clips_per_subject"} & set(overrides):
        raise DataError("write_samm: clips= lists the clips itself; drop the subjects / clips_per_subject overrides")
    spec = _size_spec(size, overrides)
    if frames not in TREES:
        raise DataError(f"write_samm: unknown frames {frames!r}; expected one of {sorted(TREES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    filmer = FaceFilmer(seed, spec.size_px)
    if clips is None:
        rng = np.random.default_rng([seed, 2])
        subjects = subject_ids(len(spec.per_subject))
        emotions = _emotions(rng, sum(spec.per_subject), size)
        names = {s: _filenames(np.random.default_rng([seed, 3, s]), subjects[s], count) for s, count in enumerate(spec.per_subject)}
        jobs = [(s, subjects[s], names[s][i]) for s, count in enumerate(spec.per_subject) for i in range(count)]
    else:
        jobs, emotions = _listed_jobs(clips)
    rows = []
    for k, (s, subject, name) in enumerate(progress_bar(jobs, desc=f"simulating SAMM ({size})", unit="clip", disable=not progress)):
        rows.append(_write_clip(out / TREES[frames], filmer, seed, s, subject, name, emotions[k], frames == "raw"))
    write_xlsx(out / LABEL_FILE, sheet_table(rows), header=False, sheet_name=SHEET)
    return out


_FILENAME = re.compile(r"^(\d{3})_(\d+)_(\d+)$")


def _listed_jobs(clips: Sequence[tuple[str, str, str]]) -> tuple[list[tuple[int, str, str]], list[str]]:
    """``(subject number, Subject, Filename)`` of each listed clip, and its emotion; subjects numbered in order of appearance."""
    order: dict[str, int] = {}
    jobs, emotions, seen = [], [], set()
    for subject, name, emotion in clips:
        match = _FILENAME.match(name)
        if match is None or match.group(1) != subject or emotion not in EMOTIONS or name in seen:
            raise DataError(f"write_samm: clip {(subject, name, emotion)!r} is not (three-digit Subject, new Filename "
                            f"'{{Subject}}_{{inducement code}}_{{k}}', one of {list(EMOTIONS)})")
        seen.add(name)
        jobs.append((order.setdefault(subject, len(order)), subject, name))
        emotions.append(emotion)
    if len(order) < 2:
        raise DataError(f"the simulator needs at least 2 subjects for subject-independent folds, got clips of {sorted(order)}")
    return jobs, emotions


def subject_ids(n: int) -> list[str]:
    """The first ``n`` subject ids of the release (``006``...), then ``038``, ``039``, ... beyond its 29."""
    real = list(PUBLISHED_SUBJECTS)
    return real[:n] + [f"{38 + j:03d}" for j in range(max(0, n - len(real)))]


def sheet_table(rows: list[list]) -> pd.DataFrame:
    """The MICRO_ONLY sheet as cells: preamble, blank row 13, header on row 14, one row per clip from row 15."""
    width = len(HEADER)
    cells: list[list] = [[None] * width for _ in range(HEADER_ROW - 1)]
    for row, letter, text in PREAMBLE:
        cells[row - 1][ord(letter) - ord("A")] = text
    cells.append(list(HEADER))
    for k, row in enumerate(rows):
        excel_row = HEADER_ROW + 1 + k
        cells.append([*row[:6], f"=SUM(F{excel_row}-D{excel_row})+1", *row[6:]])
    return pd.DataFrame(cells, dtype=object)


def _size_spec(size: str, overrides: dict) -> SizeSpec:
    if size not in SIZES:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES)}")
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise DataError(f"write_samm: unknown override(s) {unknown}; expected some of {list(OVERRIDES)}")
    spec = SIZES[size]
    spec = replace(spec, per_subject=subject_plan(spec.per_subject, overrides.get("subjects"), overrides.get("clips_per_subject")))
    return replace(spec, size_px=int(overrides.get("size_px", spec.size_px)))


def _emotions(rng: np.random.Generator, n: int, size: str) -> list[str]:
    """Clip emotions: the published counts in ``published`` size; else every class once, then the published mix."""
    if size == "published" and n == sum(PUBLISHED_EMOTIONS.values()):
        pool = [e for e, count in PUBLISHED_EMOTIONS.items() for _ in range(count)]
        return [pool[j] for j in rng.permutation(n)]
    names, counts = list(PUBLISHED_EMOTIONS), np.array(list(PUBLISHED_EMOTIONS.values()), dtype=float)
    drawn = list(EMOTIONS[:n]) + [names[j] for j in rng.choice(len(names), size=max(0, n - len(EMOTIONS)), p=counts / counts.sum())]
    return [drawn[j] for j in rng.permutation(n)]


def _filenames(rng: np.random.Generator, subject: str, count: int) -> list[str]:
    """``count`` distinct ``{subject}_{inducement code 1-7}_{k}`` names, sorted as text like the release's sheet.

    The first is of inducement code 1, so the release's 5-digit frame padding (006_1_*) occurs.
    """
    chosen: set[tuple[int, int]] = {(1, int(rng.integers(1, 14)))}
    while len(chosen) < count:
        chosen.add((int(rng.integers(1, 8)), int(rng.integers(1, 14))))
    return sorted(f"{subject}_{code}_{k}" for code, k in chosen)


def au_cell(codes: tuple[str, ...], rng: np.random.Generator) -> int | str:
    """SAMM notation of ``codes``: ``("AU4", "AU7")`` -> ``"4+7B"``; a lone bilateral AU without intensity as a number cell."""
    written = []
    for code in codes:
        token = code[2:] if code.startswith("AU") else code
        draw = rng.random()
        if draw < 0.35:  # FACS intensity A (trace) .. E (maximum); micro-movements are mostly weak
            token += "ABCDE"[int(rng.choice(5, p=[0.4, 0.3, 0.2, 0.07, 0.03]))]
        elif draw < 0.42:
            token += "A/B"  # '/' = or: an intensity between A and B (release: '4A/B', '10A/B')
        written.append(token)
    if len(written) == 1 and written[0].isdigit():
        return int(written[0])
    return (" + " if rng.random() < 0.1 else "+").join(written)


def _write_clip(tree: Path, filmer: FaceFilmer, seed: int, s: int, subject: str, name: str, emotion: str, raw: bool) -> list:
    rng = np.random.default_rng([seed, s, int(name.split("_")[1]), int(name.split("_")[2])])
    aus = draw_emotion_aus(rng, "others" if emotion == "Other" else emotion.lower())
    clip = filmer.film(s, aus, FPS, rng)
    onset = int(rng.integers(100, 9000))
    code = int(name.split("_")[1])
    pad = 5 if f"{subject}_{code}" in FIVE_DIGIT else 4
    folder = tree / subject / name
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(clip.frames):
        image = _raw_frame(frame) if raw else frame
        cv2.imwrite(str(folder / f"{subject}_{onset + k:0{pad}d}.jpg"), np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
    note = NOTES[int(rng.integers(len(NOTES)))] if rng.random() < 0.4 else None
    return [subject, name, code, onset, onset + clip.apex, onset + clip.length - 1, "Micro - 1/2", au_cell(aus, rng), emotion,
            OBJECTIVE[emotion], note]


def _raw_frame(face: np.ndarray) -> np.ndarray:
    """The face placed in a frame of the distributed 960:650 aspect on a plain background."""
    h, w = face.shape[:2]
    width = max(w, int(round(h * FRAME_ASPECT / 2)) * 2)
    frame = np.full((h, width), 40, dtype=np.uint8)
    left = (width - w) // 2
    frame[:, left : left + w] = face
    return frame
