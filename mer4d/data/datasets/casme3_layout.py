"""CAS(ME)^3 folders and frame numbering, shared by the ME sheet reader (:mod:`casme3`) and the
macro-expression (MaE) sheet reader (:mod:`casme3_macro`): where a copy keeps its label files and
frames, the subject / video / ``color`` / ``depth`` folder lookup with its spellings, Part A's
1-based frame numbers, and the Index row both readers build. The layouts are described in
:mod:`mer4d.data.datasets.casme3`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mer4d.core.errors import DataError
from mer4d.data.problems import Problem

NAME = "casme3"
LONG_SPAN_S = 10.0  # an onset..offset longer than this is surely a typo, for micro- and macro-expressions alike
FPS = 30.0  # datasets.md §5: MEGC pages "CAS(ME)3 ... 30 fps"; the Part C EDA sync code uses frame/30*200
LABEL_DIRS: dict[str, tuple[str, ...]] = {
    "A": ("", "annotation", "annotation/partA", "part_A", "part_A/annotation", "part_A/annotation/partA"),
    "C": ("", "annotation", "annotation/partC", "part_C", "part_C/annotation", "part_C/annotation/partC"),
}
# Part A frame trees, in order of preference: the release (datasets.md §5, meb's --casme3_original
# example), the same below a part_A root, a third-party copy ('CASME3/part_A_split/part_A'), the
# summary table's short form, and the root itself.
FRAME_TREES_A: tuple[str, ...] = ("part_A/data/part_A_split/part_A", "data/part_A_split/part_A", "part_A_split/part_A", "part_A", "")
CLIP_TREES_A: tuple[str, ...] = ("Part_A_ME_clip", "part_A/Part_A_ME_clip", "Part_A_ME_clip/Part_A_ME_clip")
FRAME_TREES_C: tuple[str, ...] = ("ME_C", "part_C/ME_C")
_SUBJECT_FOLDER = re.compile(r"^spno\.?(\d+)$", re.IGNORECASE)


# ---------------------------------------------------------------- folders


def child(folder: Path | None, name: str) -> Path | None:
    """``folder/name`` (a folder) matched without regard to case, or None."""
    if folder is None or not folder.is_dir():
        return None
    exact = folder / name
    if exact.is_dir():
        return exact
    for entry in sorted(folder.iterdir()):
        if entry.name.lower() == name.lower() and entry.is_dir():
            return entry
    return None


def descend(root: Path, relative: str) -> Path | None:
    folder: Path | None = root
    for piece in [p for p in relative.split("/") if p]:
        folder = child(folder, piece)
    return folder


# ---------------------------------------------------------------- frame trees


@dataclass(frozen=True)
class FrameTree:
    """Where a copy keeps its frames: ``full`` (subject/video folders) or ``clips`` (one folder per ME)."""

    kind: str
    color: Path
    depth: Path | None = None  # the clips layout's depth tree


def find_frames_a(root: Path) -> FrameTree:
    """The Part A frame tree (first of :data:`FRAME_TREES_A` holding spNO folders, else the ME-clip layout)."""
    for relative in FRAME_TREES_A:
        folder = descend(root, relative)
        if folder is not None and any(_SUBJECT_FOLDER.match(e.name) and e.is_dir() for e in folder.iterdir()):
            return FrameTree("full", folder)
    for relative in CLIP_TREES_A:
        folder = descend(root, relative)
        frames = child(folder, "frame")
        if frames is not None:
            return FrameTree("clips", frames, child(folder, "depth"))
    raise DataError(f"{NAME}: no Part A frame folder in {root}: looked for subject folders spNO.* in "
                    f"{', '.join(r or '.' for r in FRAME_TREES_A)} and for {' or '.join(c + '/frame' for c in CLIP_TREES_A)} "
                    "(datasets.md §5: part_A/data/part_A_split/part_A/{Subject}/{Filename}/color/{N}.jpg)")


def find_frames_c(root: Path) -> Path:
    for relative in FRAME_TREES_C:
        folder = descend(root, relative)
        if folder is not None:
            return folder
    raise DataError(f"{NAME}: no Part C frame folder {' or '.join(FRAME_TREES_C)} in {root}; no official Part C frame layout is public, "
                    "so the one read is meb's extraction ME_C/{sub:02d}/{count}/color/{N}.jpg (datasets.md §5)")


class Folders:
    """Subject and video folders of a full Part A tree, looked up once, with a warning per spelling that differs from the sheet."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.subjects: dict[str, list[Path]] = {}
        for entry in sorted(tree.iterdir()):
            match = _SUBJECT_FOLDER.match(entry.name)
            if match and entry.is_dir():
                self.subjects.setdefault(match.group(1).lstrip("0") or "0", []).append(entry)
        self.warned: set[str] = set()

    def subject(self, subject: str, where: str, clip: str) -> tuple[Path | None, list[Problem]]:
        match = _SUBJECT_FOLDER.match(subject)
        folders = self.subjects.get(match.group(1).lstrip("0") or "0", []) if match else []
        exact = [f for f in folders if f.name == subject]
        if exact or not folders:
            return (exact[0] if exact else None), []
        folder = folders[0]
        if folder.name in self.warned:
            return folder, []
        self.warned.add(folder.name)
        # datasets.md §5: 'spNo' in the ME-clip copies, 'spNO210' (no dot) for spNO.210-215's depth
        return folder, [Problem("warning", where, clip, f"subject folder {folder.name} read for Subject {subject!r} (the sheet's spelling); "
                                "copies spell it differently (datasets.md §5)")]


def clip_folder_full(folders: Folders, subject: str, filename: str, where: str, clip: str) -> tuple[Path | None, Path | None, list[Problem]]:
    """``(color folder, depth folder or None, problems)`` of a row in the full layout; color None -> a fatal problem says why."""
    subject_dir, problems = folders.subject(subject, where, clip)
    if subject_dir is None:
        return None, None, [Problem("fatal", where, clip, f"subject folder {subject} is missing in {folders.tree}; restore it or remove the subject's rows")]
    video = child(subject_dir, filename)
    if video is None:
        return None, None, problems + [Problem("fatal", where, clip, f"no video folder {filename} in {subject_dir}; restore the folder or remove the row")]
    if video.name != filename:
        # datasets.md §0.7: 'J' among lower-case letters; Linux does not forgive the difference
        problems.append(Problem("warning", where, clip, f"Filename {filename!r} read from folder {video.name} (the case differs)"))
    color = child(video, "color")
    if color is None:
        return None, None, problems + [Problem("fatal", where, clip, f"no color folder in {video}; expected {video}/color/{{N}}.jpg (datasets.md §5)")]
    depth = child(video, "depth")
    if depth is None and any(p.suffix.lower() == ".png" for p in video.iterdir() if p.is_file()):
        # datasets.md §5: the official code also reads depth frames lying in the video folder itself
        depth = video
        problems.append(Problem("warning", where, clip, f"depth frames lie in {video} itself, not in a depth/ subfolder; read from there"))
    return color, depth, problems


def clip_folder_clips(tree: FrameTree, names: dict[str, Path], depth_names: dict[str, Path], subject: str, filename: str, onsets: Iterable[str],
                       where: str, clip: str) -> tuple[Path | None, Path | None, list[Problem]]:
    """The same for the ME-clip layout ``frame/{Subject}_{Filename}_{Onset}``."""
    for onset in onsets:
        key = clip_key(f"{subject}_{filename}_{onset}")
        if key in names:
            folder, problems = names[key], []
            if folder.name != f"{subject}_{filename}_{onset}":
                problems.append(Problem("warning", where, clip, f"clip folder {folder.name} read for {subject}_{filename}_{onset} (the spelling differs; "
                                        "datasets.md §5 has 'spNo.1_a_355')"))
            return folder, depth_names.get(key), problems
    wanted = f"{subject}_{filename}_{next(iter(onsets))}"
    return None, None, [Problem("fatal", where, clip, f"no clip folder {wanted} in {tree.color}; restore the folder or remove the row")]


def clip_key(name: str) -> str:
    return re.sub(r"^spno\.?", "spno.", name.lower())


def listing(folder: Path | None) -> dict[str, Path]:
    return {clip_key(e.name): e for e in sorted(folder.iterdir()) if e.is_dir()} if folder is not None else {}


def whole_text(cell: str) -> str:
    """``"1.0"`` -> ``"1"`` (a copy re-saved with float cells); other text unchanged."""
    match = re.fullmatch(r"\s*(\d+)(?:\.0+)?\s*", cell)
    return str(int(match.group(1))) if match else cell.strip()


def one_based(onset: str, apex: str, where: str, clip: str) -> tuple[str, str, list[Problem]]:
    """Onset 0 (and apex 0) -> 1: Part A frames are numbered from 1 (datasets.md §5, spNO.216 e)."""
    if whole_text(onset) != "0":
        return onset, apex, []
    apex = "1" if whole_text(apex) == "0" else apex
    return "1", apex, [Problem("warning", where, clip, "onset 0 but Part A frames are numbered from 1 (0.jpg does not exist); onset (and an apex 0) read as 1, "
                               "the fix of the release's exception list casme3_partA_error_list_ZhouJu.xlsx (datasets.md §5)")]


def index_row(subject: str, clip: str, triplet: tuple[int, int, int], emotion: str, aus: list[str], objective: int | None, where: str,
              color: Path, depth: Path | None, kind: str = "micro") -> dict:
    onset, apex, offset = triplet
    return {"dataset": NAME, "subject": subject, "clip_id": clip, "kind": kind, "fps": FPS, "onset": onset, "apex": apex, "offset": offset,
            "emotion": emotion, "aus": aus, "fold": None, "objective_class": objective, "source": where, "frames_dir": str(color.resolve()),
            "depth_dir": str(depth.resolve()) if depth is not None else None}


def depth_problems(rows: list[dict], path: Path) -> list[Problem]:
    """One warning when a copy has no depth at all; else one per clip without it (the depth modality cannot read those)."""
    lacking = [r for r in rows if r["depth_dir"] is None]
    if not lacking:
        return []
    if len(lacking) == len(rows):
        return [Problem("warning", path.name, "", "no clip has a depth folder ({video}/depth/{N}.png) in this copy; the depth modality cannot be used")]
    return [Problem("warning", r["source"], r["clip_id"], f"no depth folder next to {r['frames_dir']}; this clip cannot be read with the depth modality")
            for r in lacking]


def span_problems(triplet: tuple[int, int, int], where: str, clip: str, expression: str) -> list[Problem]:
    """A warning when onset..offset lasts longer than :data:`LONG_SPAN_S` (``expression``: how long one should be)."""
    onset, _, offset = triplet
    seconds = (offset - onset + 1) / FPS
    if seconds <= LONG_SPAN_S:
        return []
    return [Problem("warning", where, clip, f"onset..offset {onset}..{offset} spans {offset - onset + 1} frames ({seconds:.0f} s at 30 fps), far longer than "
                    f"{expression}; check the row (probably a typo in onset or offset)")]
