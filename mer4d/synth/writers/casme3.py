"""Write a simulated dataset in the CAS(ME)^3 layout (read back by ``mer4d.data.datasets.casme3``).

As the real release (datasets.md §5)::

    annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx     # part="A": sheet 'label'
    annotation/partA/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx  # part="A": macro-expressions, sheet 'Sheet1'
    part_A/data/part_A_split/part_A/spNO.1/a/color/355.jpg          # 16:9 colour frames, absolute numbers
    part_A/data/part_A_split/part_A/spNO.1/a/depth/355.png          # 16-bit depth in mm, pixel-aligned
    annotation/partC/CAS(ME)3_part_C_ME.xlsx                        # part="C": sheet 'mockCrimeME'
    ME_C/01/1/color/373.jpg                                         # meb's Part C extraction layout

Clips are filmed at 30 fps with :class:`~mer4d.synth.writers.clips2d.FaceFilmer`; a video folder
holds the frames of its MEs only (the release ships whole stimulus videos from ``1.jpg``), and a
subject's MEs share video folders as the release's do (191 of its 463 videos hold several MEs), laid
one after another in time. The Part A sheet is written as the v2 file is: every cell text (numbers
too), AUs ``+``-joined without the ``AU`` prefix (``"4+R10"``), ``Objective class`` as a roman
numeral (looked up from the clip's AUs in a small table after Davison et al. 2018, an
approximation), emotions lower case; only the ``label`` sheet is written (the release's ``Sheet1``
and ``Sheet3`` are empty). The Part C sheet has number cells for ``sub``, ``count``, ``onset`` and
``offset``, a number cell for a single bilateral AU and comma-joined text otherwise (``"R4,5"``).

Macro-expressions (Part A; MoExt pre-trains on them): after every ME is written, each subject's
macro clips go into its video folders, after the MEs of that video (the first one in one of the
subject's ME videos), filmed with ``kind="macro"``: 0.5-4 s events (:data:`mer4d.synth.events.DURATION_S`)
at the macro amplitude (2-6 mm against the MEs' 0.3-2 mm, about 3.5x on average), with the MEs'
emotion -> AU catalog and emotion set. Every frame of the event is written; the sheet's onset is its
first visible frame (:func:`visible_onset`: the rise at 10% of the apex), so onset + 4 (MoExt's
pseudo-apex) moves. The MaE sheet has the columns of datasets.md §5, ``sub, seq, onset, apex,
offset, emotion`` (sheet ``Sheet1`` and ``sub`` spelt ``spNO.{n}`` as loader code reads it;
unverified against a real copy), frame numbers as number cells. Macro randomness comes from its own
generators, so the ME clips and the ME sheet are byte-identical to a writer without macro clips.
``quick``: 2 per subject (6); ``published``: the release's 3346 spread evenly over the 94 ME subjects
(the MaE sheet's per-subject and per-emotion counts are not known to us; emotions follow the ME
mix), rendered every 3rd frame with interpolation between (``macro_time_step``) - about 225,000
extra frames, far slower than the MEs.

Depth (Part A only): FaceFilmer renders no depth, so each depth frame is a plain synthetic map
aligned to its colour frame: a wall at 1400 mm, the face an elliptical bump (700 mm at its rim,
640 mm at its centre) placed on the frame's landmarks, a nose bump to 620 mm, 1 mm sensor noise and
a few 0 (no return) pixels. It follows the head drift but not the expression; it is there so the
depth modality has a layout to read, not as a depth model of the face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.synth.catalog import draw_emotion_aus
from mer4d.synth.face import LANDMARK_NAMES
from mer4d.synth.writers.clips2d import Clip2D, FaceFilmer
from mer4d.synth.writers.files import write_xlsx

FPS = 30.0
PARTS = ("A", "C")
LABEL_FILES = {"A": "annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "C": "annotation/partC/CAS(ME)3_part_C_ME.xlsx"}
# Part A macro-expressions: the MaE sheet (datasets.md §5 columns; sheet name from loader code; unverified).
MACRO_FILE = "annotation/partA/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"
MACRO_SHEET = "Sheet1"
MACRO_HEADER = ("sub", "seq", "onset", "apex", "offset", "emotion")
PUBLISHED_MACRO = 3346  # 'Macro-expression' rows of CAS(ME)3_part_A_v2.xls, sheet AU+Emotion (datasets.md §5)
VISIBLE_ONSET = 0.1  # a macro clip's written onset: its rise at 10% of the apex (see visible_onset)
MACRO_WINDOW = 135  # FaceFilmer's macro window (4.5 s at 30 fps) holds the whole event (0.5-4 s)
SHEETS = {"A": "label", "C": "mockCrimeME"}
HEADERS = {"A": ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"),
           "C": ("sub", "count", "onset", "offset", "au", "emotion")}
FRAME_TREES = {"A": "part_A/data/part_A_split/part_A", "C": "ME_C"}
VIDEOS = "abcdefghijklm"  # one letter per stimulus video (datasets.md §5)
# The v2 sheets: (subject number, MEs) in sheet order, and MEs per emotion ('Others' 3 counted in others).
PUBLISHED_A = ((1, 10), (10, 15), (11, 20), (12, 5), (13, 5), (138, 1), (139, 1), (14, 3), (142, 16), (143, 2), (144, 13), (145, 2),
               (146, 2), (147, 4), (148, 29), (149, 5), (15, 8), (150, 15), (152, 6), (153, 12), (154, 2), (155, 2), (156, 13), (157, 6),
               (158, 3), (159, 1), (160, 57), (161, 1), (162, 8), (163, 1), (165, 10), (166, 4), (167, 4), (168, 1), (169, 19), (17, 3),
               (170, 2), (171, 31), (172, 10), (173, 1), (174, 4), (175, 5), (176, 3), (177, 3), (178, 2), (179, 6), (180, 4), (181, 19),
               (182, 3), (183, 2), (184, 17), (185, 1), (186, 5), (187, 4), (188, 3), (189, 54), (190, 6), (192, 4), (193, 10), (194, 16),
               (195, 6), (196, 6), (197, 15), (198, 1), (2, 10), (200, 5), (201, 11), (202, 12), (203, 6), (204, 9), (206, 23), (207, 24),
               (208, 16), (209, 6), (210, 22), (211, 2), (212, 8), (213, 1), (214, 5), (215, 33), (216, 14), (217, 9), (3, 13), (39, 5),
               (4, 6), (40, 11), (41, 1), (42, 15), (5, 6), (6, 5), (7, 4), (77, 8), (8, 15), (9, 3))
PUBLISHED_C = ((1, 3), (2, 1), (3, 2), (4, 11), (5, 3), (6, 1), (7, 4), (8, 3), (9, 1), (10, 2), (11, 4), (12, 10), (13, 4), (14, 4), (15, 7),
               (16, 5), (17, 17), (18, 6), (19, 7), (20, 12), (21, 3), (23, 8), (24, 8), (25, 4), (26, 4), (27, 1), (28, 2), (29, 5), (30, 13),
               (31, 10))
PUBLISHED_EMOTIONS = {
    "A": {"disgust": 250, "surprise": 187, "others": 161, "fear": 86, "anger": 64, "sad": 57, "happy": 55},
    "C": {"negative": 99, "surprise": 30, "others": 20, "positive": 16},
}
# Sheet label -> the simulator catalog's emotion (mer4d.synth.catalog.EMOTION_AUS).
_CATALOG = {"happy": "happiness", "sad": "sadness"}
PART_C_VIDEO_FRAMES = 14400  # one 8-minute video per subject (README) at 30 fps
# Depth map (mm): see the module docstring.
WALL_MM, FACE_RIM_MM, FACE_BULGE_MM, NOSE_MM = 1400.0, 700.0, 60.0, 20.0
# Objective class (Davison et al. 2018, I..VII) of a set of AU numbers; anything else -> VII.
_OBJECTIVE = {
    frozenset({12}): "I", frozenset({6, 12}): "I", frozenset({6}): "I",
    frozenset({1, 2}): "II", frozenset({5}): "II", frozenset({1, 2, 5}): "II", frozenset({25}): "II",
    frozenset({4}): "III", frozenset({4, 7}): "III", frozenset({7}): "III", frozenset({4, 23}): "III", frozenset({4, 24}): "III",
    frozenset({9}): "IV", frozenset({10}): "IV", frozenset({4, 9}): "IV", frozenset({4, 7, 10}): "IV",
    frozenset({1}): "V", frozenset({15}): "V", frozenset({1, 4}): "V", frozenset({15, 17}): "V", frozenset({1, 4, 15}): "V",
    frozenset({20}): "VI", frozenset({4, 20}): "VI", frozenset({1, 2, 4, 20}): "VI",
}


@dataclass(frozen=True)
class SizeSpec:
    subjects: tuple[tuple[int, int], ...]  # (subject number as in spNO.{n} / sub, MEs of that subject)
    size_px: int  # frame height; frames are 16:9 (1280x720 in the release) around a square face
    macro: tuple[int, ...] = ()  # Part A: macro-expressions per subject (same order as subjects); () none
    macro_time_step: int = 1  # FaceFilmer time_step of the macro clips (k > 1: every k-th frame rendered, the rest interpolated)


def spread(total: int, n: int) -> tuple[int, ...]:
    """``total`` clips over ``n`` subjects, as evenly as possible (the first ones get one more)."""
    return tuple(total // n + (j < total % n) for j in range(n))


SIZES = {
    "A": {"quick": SizeSpec(((1, 4), (2, 4), (5, 4)), 48, (2, 2, 2)),
          # the MaE sheet's per-subject counts are not known to us: the release's 3346 spread evenly over the ME subjects
          "published": SizeSpec(PUBLISHED_A, 192, spread(PUBLISHED_MACRO, len(PUBLISHED_A)), 3)},
    "C": {"quick": SizeSpec(((1, 4), (2, 3), (4, 3)), 48), "published": SizeSpec(PUBLISHED_C, 192)},
}
OVERRIDES = ("subjects", "clips_per_subject", "size_px", "macro_per_subject")


@dataclass(frozen=True)
class _Job:
    s: int  # subject position (the filmer's identity)
    number: int  # subject number
    i: int  # ME position within the subject
    video: str  # Part A video letter, Part C the ME count
    onset: int
    emotion: str


def write_casme3(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, part: str = "A", **overrides) -> Path:
    """Write the simulated CAS(ME)^3-layout dataset (one part) into ``out`` (created if needed) and return ``out``.

    Args:
        out: the dataset root (``annotation/`` and the frame tree go directly in it).
        size: ``quick`` (3 subjects, 10-12 MEs, Part A 6 macro-expressions, 48 px high frames, every class present) or
            ``published`` (the v2 sheet's subjects, ME counts and per-emotion counts; slow).
        seed: the same seed writes the same bytes.
        part: ``"A"`` (colour + depth, seven emotions) or ``"C"`` (colour, pooled emotions).
        overrides: ``subjects`` (count), ``clips_per_subject``, ``size_px``, ``macro_per_subject``
            (Part A; 0 writes no macro clips and no MaE sheet).
    """
    key = str(part).strip().upper()
    if key not in PARTS:
        raise DataError(f"write_casme3: unknown part {part!r}; expected one of {list(PARTS)}")
    spec = _size_spec(key, size, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = _plan(key, spec, seed, size)
    filmer = FaceFilmer(seed, spec.size_px, color=True)
    rows = []
    for job in progress_bar(jobs, desc=f"simulating CAS(ME)^3 Part {key} ({size})", unit="clip", disable=not progress):
        rows.append(_write_clip(out, key, filmer, spec, seed, job))
    if key == "A":
        rows.sort(key=lambda r: (r[0], r[1], int(r[2])))  # the release sorts by Subject text, then video and onset
    label = out / LABEL_FILES[key]
    label.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx(label, pd.DataFrame([list(HEADERS[key])] + rows, dtype=object), header=False, sheet_name=SHEETS[key])
    macro_jobs = _plan_macro(spec, seed, jobs) if key == "A" else []
    if macro_jobs:  # after every ME, from their own generators: the ME clips and sheet are the bytes they were without macro clips
        macro_rows = [_write_macro_clip(out, filmer, spec, seed, job)
                      for job in progress_bar(macro_jobs, desc=f"simulating CAS(ME)^3 Part A macro-expressions ({size})", unit="clip", disable=not progress)]
        macro_rows.sort(key=lambda r: (r[0], r[1], r[2]))
        write_xlsx(out / MACRO_FILE, pd.DataFrame([list(MACRO_HEADER)] + macro_rows, dtype=object), header=False, sheet_name=MACRO_SHEET)
    return out


def _size_spec(part: str, size: str, overrides: dict) -> SizeSpec:
    if size not in SIZES[part]:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES[part])}")
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise DataError(f"write_casme3: unknown override(s) {unknown}; expected some of {list(OVERRIDES)}")
    spec = SIZES[part][size]
    subjects, per, macro = overrides.get("subjects"), overrides.get("clips_per_subject"), overrides.get("macro_per_subject")
    if macro is not None and part != "A":
        raise DataError("write_casme3: macro_per_subject applies to part A only (Part C has no macro-expression sheet)")
    if subjects is not None or per is not None:
        n = len(spec.subjects) if subjects is None else int(subjects)
        numbers = sorted(number for number, _ in (PUBLISHED_A if part == "A" else PUBLISHED_C))
        numbers += list(range(numbers[-1] + 1, numbers[-1] + 1 + max(0, n - len(numbers))))
        counts = [spec.subjects[j % len(spec.subjects)][1] if per is None else int(per) for j in range(n)]
        macros = tuple(spec.macro[j % len(spec.macro)] for j in range(n)) if spec.macro else ()
        spec = replace(spec, subjects=tuple(zip(numbers[:n], counts, strict=True)), macro=macros)
    if macro is not None:
        if int(macro) < 0:
            raise DataError(f"write_casme3: macro_per_subject must be >= 0, got {macro}")
        spec = replace(spec, macro=tuple(int(macro) for _ in spec.subjects))
    if len(spec.subjects) < 2 or min(count for _, count in spec.subjects) < 1:
        raise DataError(f"the simulator needs at least 2 subjects with 1 clip each for subject-independent folds, got {spec.subjects}")
    return replace(spec, size_px=int(overrides.get("size_px", spec.size_px)))


def _emotions(rng: np.random.Generator, part: str, n: int, size: str) -> list[str]:
    """Clip emotions: the published counts in ``published`` size; else every class once, then the published mix."""
    published = PUBLISHED_EMOTIONS[part]
    if size == "published" and n == sum(published.values()):
        pool = [e for e, count in published.items() for _ in range(count)]
        return [pool[j] for j in rng.permutation(n)]
    names, counts = list(published), np.array(list(published.values()), dtype=float)
    drawn = names[:n] + [names[j] for j in rng.choice(len(names), size=max(0, n - len(names)), p=counts / counts.sum())]
    return [drawn[j] for j in rng.permutation(n)]


def _plan(part: str, spec: SizeSpec, seed: int, size: str) -> list[_Job]:
    """Every clip's subject, video, onset and emotion; a subject's MEs in one video follow each other in time."""
    emotions = iter(_emotions(np.random.default_rng([seed, 2]), part, sum(count for _, count in spec.subjects), size))
    jobs = []
    for s, (number, count) in enumerate(spec.subjects):
        rng = np.random.default_rng([seed, 3, s])
        if part == "A":
            # at least one shared video when the subject has two MEs or more, like most real subjects
            distinct = min(len(VIDEOS), max(1, count - max(1, count // 3)) if count > 1 else 1)
            letters = sorted(rng.choice(len(VIDEOS), size=distinct, replace=False).tolist())
            videos = [VIDEOS[letters[k]] if k < distinct else VIDEOS[letters[int(rng.integers(distinct))]] for k in range(count)]
            next_free: dict[str, int] = {}
            for i, video in enumerate(videos):
                onset = next_free.get(video, 1) + int(rng.integers(4, 400))
                next_free[video] = onset + 40  # a micro window at 30 fps is at most 18 frames
                jobs.append(_Job(s, number, i, video, onset, next(emotions)))
        else:
            starts = np.sort(rng.choice(np.arange(100, PART_C_VIDEO_FRAMES - 100, 40), size=count, replace=False))
            jobs += [_Job(s, number, i, str(i + 1), int(starts[i]), next(emotions)) for i in range(count)]
    return jobs


def _plan_macro(spec: SizeSpec, seed: int, micro: list[_Job]) -> list[_Job]:
    """Part A macro-expressions: each after the MEs already placed in its video (the first in one of the
    subject's ME videos, the others in any of the 13), a window apart, with their own generators."""
    emotions = iter(_emotions(np.random.default_rng([seed, 7]), "A", sum(spec.macro), "quick"))
    next_free: dict[tuple[int, str], int] = {}
    for job in micro:
        next_free[(job.s, job.video)] = max(next_free.get((job.s, job.video), 1), job.onset + 40)
    jobs = []
    for s, ((number, _), count) in enumerate(zip(spec.subjects, spec.macro, strict=True)):
        rng = np.random.default_rng([seed, 8, s])
        own = sorted({j.video for j in micro if j.s == s})
        for i in range(count):
            video = own[int(rng.integers(len(own)))] if i == 0 and own else VIDEOS[int(rng.integers(len(VIDEOS)))]
            onset = next_free.get((s, video), 1) + int(rng.integers(4, 400))
            next_free[(s, video)] = onset + MACRO_WINDOW + 5
            jobs.append(_Job(s, number, i, video, onset, next(emotions)))
    return jobs


def _write_macro_clip(out: Path, filmer: FaceFilmer, spec: SizeSpec, seed: int, job: _Job) -> list:
    """One macro-expression (0.5-4 s, the macro amplitude of :data:`mer4d.synth.events.AMPLITUDE_MM`, 2-6 mm
    against the MEs' 0.3-2, about 3.5x on average) of the same emotion -> AU catalog as the MEs; a MaE sheet row."""
    rng = np.random.default_rng([seed, 9, job.s, job.i])
    aus = draw_emotion_aus(rng, _CATALOG.get(job.emotion, job.emotion))
    clip = filmer.film(job.s, aus, FPS, rng, kind="macro", time_step=spec.macro_time_step)
    start = job.onset  # the event's first frame: every frame from here to the offset is written
    onset, apex, offset = start + visible_onset(clip.apex), start + clip.apex, start + clip.length - 1
    folder = out / FRAME_TREES["A"] / f"spNO.{job.number}" / job.video
    frames, left = _widescreen(clip.frames)
    (folder / "color").mkdir(parents=True, exist_ok=True)
    (folder / "depth").mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        cv2.imwrite(str(folder / "color" / f"{start + k}.jpg"), np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    for k, depth in enumerate(depth_frames(clip, frames.shape[1:3], left, rng)):
        cv2.imwrite(str(folder / "depth" / f"{start + k}.png"), depth)
    # sub spelt as the ME sheet's Subject, seq the video letter, frame numbers as number cells (loader code does arithmetic on them)
    return [f"spNO.{job.number}", job.video, onset, apex, offset, job.emotion]


def visible_onset(rise: int) -> int:
    """Frames from the event's start to its written onset: the first frame whose raised-cosine rise
    (:func:`mer4d.synth.animation.raised_cosine_profile`, ``rise`` frames to the apex) reaches
    :data:`VISIBLE_ONSET` of the apex, as an annotator marks the first visible change. A macro rise
    is long (up to ~70 frames): from the event's start, onset + 4 (MoExt's pseudo-apex) would barely move."""
    k = math.ceil(rise * math.acos(1.0 - 2.0 * VISIBLE_ONSET) / math.pi - 1e-9)
    return max(0, min(k, rise - 1))


def au_cell(codes: tuple[str, ...], part: str) -> int | str:
    """Part A ``"4+R10"`` (always text, as the v2 sheet stores it); Part C ``"R4,5"``, a single bilateral AU as a number cell."""
    written = [c[2:] if c.startswith("AU") else c for c in codes]
    if part == "A":
        return "+".join(written)
    return int(written[0]) if len(written) == 1 and written[0].isdigit() else ",".join(written)


def objective_class(codes: tuple[str, ...]) -> str:
    numbers = frozenset(int("".join(ch for ch in c if ch.isdigit())) for c in codes)
    return _OBJECTIVE.get(numbers, "VII")


def _write_clip(out: Path, part: str, filmer: FaceFilmer, spec: SizeSpec, seed: int, job: _Job) -> list:
    rng = np.random.default_rng([seed, PARTS.index(part), job.s, job.i])
    aus = draw_emotion_aus(rng, _CATALOG.get(job.emotion, job.emotion))
    clip = filmer.film(job.s, aus, FPS, rng)
    onset, apex, offset = job.onset, job.onset + clip.apex, job.onset + clip.length - 1
    if part == "A":
        folder = out / FRAME_TREES["A"] / f"spNO.{job.number}" / job.video
    else:
        folder = out / FRAME_TREES["C"] / f"{job.number:02d}" / job.video
    frames, left = _widescreen(clip.frames)
    (folder / "color").mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        cv2.imwrite(str(folder / "color" / f"{onset + k}.jpg"), np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if part == "A":
        (folder / "depth").mkdir(parents=True, exist_ok=True)
        for k, depth in enumerate(depth_frames(clip, frames.shape[1:3], left, rng)):
            cv2.imwrite(str(folder / "depth" / f"{onset + k}.png"), depth)
        return [f"spNO.{job.number}", job.video, str(onset), str(apex), str(offset), au_cell(aus, "A"), objective_class(aus), job.emotion]
    return [job.number, int(job.video), onset, offset, au_cell(aus, "C"), job.emotion]


def _widescreen(faces: np.ndarray) -> tuple[np.ndarray, int]:
    """The face crops placed in 16:9 frames on a plain background, and the crop's left edge in them."""
    t, h, w = faces.shape[:3]
    width = (h * 16 // 9 + 1) // 2 * 2
    frames = np.full((t, h, width, 3), 48, dtype=np.uint8)
    left = (width - w) // 2
    frames[:, :, left : left + w] = faces
    return frames, left


def depth_frames(clip: Clip2D, shape: tuple[int, int], left: int, rng: np.random.Generator) -> np.ndarray:
    """(T, H, W) uint16 depth in mm aligned to the clip's frames (see the module docstring)."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    nose = LANDMARK_NAMES.index("nose_tip")
    out = np.empty((clip.length, h, w), dtype=np.uint16)
    for t, points in enumerate(clip.landmarks):
        x, y = points[:, 0] + left, points[:, 1]
        # the landmarks run from the brows to the chin: the face oval reaches above the brows
        cx, cy = x.mean(), y.mean() - 0.1 * np.ptp(y)
        ax, ay = max(0.75 * np.ptp(x), 2.0), max(0.75 * np.ptp(y), 2.0)
        r2 = ((cols - cx) / ax) ** 2 + ((rows - cy) / ay) ** 2
        face = FACE_RIM_MM - FACE_BULGE_MM * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
        sigma = max(0.08 * ax, 1.0)
        face -= NOSE_MM * np.exp(-((cols - x[nose]) ** 2 + (rows - y[nose]) ** 2) / (2 * sigma**2))
        depth = np.where(r2 < 1.0, face, WALL_MM) + rng.normal(0.0, 1.0, (h, w))
        holes = rng.random((h, w)) < 0.005
        out[t] = np.where(holes, 0, np.round(depth)).astype(np.uint16)
    return out
