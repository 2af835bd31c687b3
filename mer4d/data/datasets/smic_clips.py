"""SMIC folders: the clip release's camera / subject / emotion folders, the third-party apex list,
and the helpers SMIC-E's reader (:mod:`smic_e`) shares; :mod:`smic` is the spec (see its docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.problems import Problem
from mer4d.data.readers.frames import list_frames
from mer4d.data.rows import emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table

NAME = "smic"
CAMERAS: dict[str, float] = {"HS": 100.0, "VIS": 25.0, "NIR": 25.0}  # fps: HS [CODE] merlib, VIS/NIR [PAPER] (datasets.md §3)
EDITIONS = ("smic", "smic-e")
FRAME_TREES: dict[str, str] = {"cropped": "SMIC_all_cropped", "raw": "SMIC_all_raw"}
EMOTIONS: tuple[str, ...] = ("negative", "positive", "surprise")
NON_MICRO = "non_micro"
CODES: dict[str, str] = {"ne": "negative", "po": "positive", "sur": "surprise"}
# The third-party apex list's label column (the script that made it: negative 0, positive 1, surprise 2).
APEX_LABELS: dict[str, str] = {"0": "negative", "1": "positive", "2": "surprise"}
# In order of preference: the name it circulates under, a CSV export, the name of the project's reference copy.
APEX_FILES: tuple[str, ...] = ("smic_apex.xlsx", "smic_apex.csv", "smic_apex-third-party.xlsx")
INDEX_COLUMNS = ("dataset", "subject", "clip_id", "kind", "fps", "onset", "apex", "offset", "emotion", "aus", "fold", "source", "frames_dir")

_SUBJECT_DIR = re.compile(r"^s0*(\d+)$", re.IGNORECASE)
_CLIP_NAME = re.compile(r"^s0*(\d+)_(ne|po|sur)_(\d+)$", re.IGNORECASE)


def _child(folder: Path | None, name: str) -> Path | None:
    """``folder/name`` (a folder) matched without regard to case; the exact spelling first."""
    if folder is None or not folder.is_dir():
        return None
    if (folder / name).is_dir():
        return folder / name
    return next((e for e in sorted(folder.iterdir()) if e.name.lower() == name.lower() and e.is_dir()), None)


def _spelling(found: Path, release: str, clip: str = "") -> list[Problem]:
    if found.name == release:
        return []
    return [Problem("warning", str(found), clip, f"folder {found.name!r} is spelled {release!r} in the release (datasets.md §3); read as "
                    f"{release!r}, but tools that build paths from the release names will miss it on a case-sensitive file system")]


def _subject_dirs(folder: Path, padded: bool) -> tuple[dict[int, Path], list[Problem]]:
    """Subject number -> folder, for the ``s1`` (SMIC) or ``s01`` (SMIC-E, ``padded``) folders in ``folder``."""
    found: dict[int, Path] = {}
    problems: list[Problem] = []
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        match = _SUBJECT_DIR.match(entry.name)
        if match is None:
            problems.append(Problem("warning", str(entry), "", f"folder {entry.name!r} is not a subject folder (s1, s2, ...); skipped"))
            continue
        n = int(match.group(1))
        release = f"s{n:02d}" if padded else f"s{n}"
        if n in found:
            keep, drop = (entry, found[n]) if entry.name == release else (found[n], entry)
            found[n] = keep
            problems.append(Problem("fatal", str(drop), "", f"subject folders {keep.name!r} and {drop.name!r} are both subject {n}; "
                                    f"reading {keep.name!r}, the clips of {drop.name!r} are not indexed: merge or remove one"))
            continue
        found[n] = entry
        problems += _spelling(entry, release)
    return dict(sorted(found.items())), problems


def find_camera_dir(root: Path, camera: str, frames: str) -> tuple[Path, list[Problem]]:
    """The ``{camera}`` folder of the ``frames`` tree (``SMIC_all_cropped/HS``), or a DataError naming what was looked for."""
    tree_name = FRAME_TREES[frames]
    for base in (root, _child(root, "SMIC")):
        tree = _child(base, tree_name)
        tree = _child(tree, tree_name) or tree  # archives unpacked into a folder of their own name
        folder = _child(tree, camera)
        if folder is not None:
            return folder, _spelling(tree, tree_name) + _spelling(folder, camera)
    if root.name.lower() == tree_name.lower() and _child(root, camera):
        folder = _child(root, camera)
        return folder, _spelling(folder, camera)
    if root.name.upper() in CAMERAS and root.name.upper() != camera:
        raise DataError(f"{NAME}: root {root} is the {root.name} camera folder but camera={camera!r}; point root at the {camera} folder "
                        f"or set dataset.params.camera={root.name.upper()!r}")
    if root.name.lower() == camera.lower() or any(_SUBJECT_DIR.match(e.name) and e.is_dir() for e in root.iterdir()):
        return root, []
    other = next((t for k, t in FRAME_TREES.items() if k != frames and (_child(root, t) or _child(_child(root, "SMIC"), t))), None)
    hint = f"; found {other}: set dataset.params.frames to {'raw' if frames == 'cropped' else 'cropped'}" if other else ""
    raise DataError(f"{NAME}: no {tree_name}/{camera} folder (nor an {camera} folder of s1, s2, ... subject folders) in {root}{hint}")


# --- the third-party apex list -----------------------------------------------------------------

@dataclass(frozen=True)
class ApexRow:
    """One row of the apex list: cells as text, and where it is (``"smic_apex.xlsx row 3"``)."""

    clip: str
    subject: str
    label: str
    apex: str
    where: str


def find_apex_file(root: Path, places: list[Path], camera: str, apex_file: str | None) -> tuple[Path | None, list[Problem]]:
    """The apex list to read (None: none), with warnings naming the copies passed over."""
    if apex_file is None or str(apex_file).lower() == "none":
        return None, []
    if str(apex_file).lower() != "auto":
        path = Path(apex_file) if Path(apex_file).is_absolute() else root / apex_file
        if not path.is_file():
            raise DataError(f"{NAME}: apex_file {apex_file!r} not found (looked for {path}); give a path relative to the root or absolute, "
                            "or 'auto' / 'none' (dataset.params.apex_file)")
        return path, []
    found: list[Path] = []
    for place in dict.fromkeys(places):
        for entry in sorted(place.iterdir()):
            if entry.is_file() and entry.name.lower() in APEX_FILES and entry not in found:
                found.append(entry)
    if not found:
        return None, []
    found.sort(key=lambda p: APEX_FILES.index(p.name.lower()))
    if camera != "HS":
        return None, [Problem("warning", str(found[0]), "", f"{found[0].name} lists SMIC-HS clips (100 fps numbering), so it is not used for "
                              f"camera {camera}; set dataset.params.apex_file to its path to use it anyway")]
    return found[0], [Problem("warning", str(other), "", f"second apex list; using {found[0]}, ignoring {other}") for other in found[1:]]


def read_apex_file(path: Path) -> tuple[dict[str, ApexRow], list[Problem]]:
    """Clip name (lower case) -> :class:`ApexRow`; rows without a clip name or repeated are warnings."""
    table = read_table(path, ("clip", "apex_frame"))
    cols = {name: _maybe_column(table, name) for name in ("clip", "subject", "label", "apex_frame")}
    rows: dict[str, ApexRow] = {}
    problems: list[Problem] = []
    for rec in table.to_dict("records"):
        where = f"{path.name} row {rec[EXCEL_ROW]}"
        clip = rec[cols["clip"]]
        if not clip:
            problems.append(Problem("warning", where, "", "no clip name in this apex-list row; row ignored"))
            continue
        if clip.lower() in rows:
            problems.append(Problem("warning", where, clip, f"clip {clip} is listed again (first at {rows[clip.lower()].where}); using the first row"))
            continue
        cell = {k: rec[c] if c else "" for k, c in cols.items()}
        rows[clip.lower()] = ApexRow(clip, cell["subject"], cell["label"], cell["apex_frame"], where)
    return rows, problems


def _maybe_column(table: pd.DataFrame, name: str) -> str | None:
    try:
        return column(table, name)
    except DataError:
        return None


def _apex_from_list(entry: ApexRow, subject: int, emotion: str, onset: int, offset: int, clip: str) -> tuple[int, list[Problem]]:
    """The apex the list gives for a clip whose frames run ``onset..offset``; its label and subject are checked against the folders."""
    problems: list[Problem] = []
    label = APEX_LABELS.get(entry.label.removesuffix(".0"), entry.label.strip().lower())
    if label != emotion:
        shown = repr(entry.label) if entry.label else "empty"
        problems.append(Problem("warning", entry.where, clip, f"apex-list label {shown} is not {emotion!r} (its folder); the folder's label is kept"))
    if entry.subject and entry.subject.removesuffix(".0").lstrip("sS0") != str(subject):
        problems.append(Problem("warning", entry.where, clip, f"apex-list subject {entry.subject!r} is not the clip's subject s{subject}; "
                                "the folder's subject is kept"))
    # onset <= offset (one sorted folder listing), so the triplet is never None: only the apex can be repaired
    triplet, found = frame_triplet(onset, entry.apex, offset, entry.where, clip)
    problems += [replace(p, message=f"{p.message} (the clip folder holds frames {onset}..{offset})") for p in found]
    return (triplet or (onset, (onset + offset) // 2, offset))[1], problems


# --- edition "smic": labels from folders -------------------------------------------------------

def _subfolders(folder: Path) -> list[Path]:
    return sorted(e for e in folder.iterdir() if e.is_dir() and not e.name.startswith("."))


def load_apex_list(root: Path, places: list[Path], camera: str, apex_file: str | None) -> tuple[Path | None, dict[str, ApexRow], list[Problem]]:
    """The apex list found (or named by ``apex_file``), its rows by clip name, and the problems."""
    path, problems = find_apex_file(root, places, camera, apex_file)
    if path is None:
        return None, {}, problems
    rows, found = read_apex_file(path)
    return path, rows, problems + found


def _scan_clips(root: Path, camera: str, frames: str, apex_file: str | None, non_micro: bool) -> tuple[list[dict], list[Problem]]:
    folder, problems = find_camera_dir(root, camera, frames)
    apex_path, apex_rows, found = load_apex_list(root, [root, folder.parent, folder], camera, apex_file)
    problems += found
    if apex_path is None:
        problems.append(Problem("warning", str(folder), "", "no apex list (SMIC ships no apex, datasets.md §3): every clip's apex is its "
                                "middle frame (onset + offset) // 2"))
    subjects, found = _subject_dirs(folder, padded=False)
    problems += found
    rows: list[dict] = []
    skipped: list[str] = []
    for n, subject_dir in subjects.items():
        clip_dirs, found = _clip_folders(subject_dir, non_micro, skipped)
        problems += found
        for emotion_folder, clip_dir in clip_dirs:
            row, found = _clip_row(root, clip_dir, n, emotion_folder, camera, apex_rows, apex_path is not None)
            problems += found
            rows += [row] if row else []
    if skipped:
        problems.append(Problem("warning", str(folder), "", f"{len(skipped)} non_micro clip(s) not indexed ({', '.join(skipped[:4])}"
                                f"{' ...' if len(skipped) > 4 else ''}); set dataset.params.non_micro=true to index them"))
    problems += _unique_clips(rows)
    listed = {r["clip_id"].split("/")[-1].lower() for r in rows}
    for key, entry in apex_rows.items():
        if key not in listed:
            problems.append(Problem("warning", entry.where, entry.clip, f"no clip folder {entry.clip} under {folder} (SMIC_all_cropped is known to "
                                    "lack s18_sur_03, datasets.md §3); the row is not used"))
    return rows, problems


def _clip_folders(subject_dir: Path, non_micro: bool, skipped: list[str]) -> tuple[list[tuple[str, Path]], list[Problem]]:
    """``(emotion folder name, clip folder)`` of a subject: ``micro/<emotion>/<clip>``, and ``non_micro/<clip>``
    when ``non_micro`` (else those clips are added to ``skipped``)."""
    problems: list[Problem] = []
    found: list[tuple[str, Path]] = []
    micro = _child(subject_dir, "micro")
    if micro is None:
        problems.append(Problem("warning", str(subject_dir), "", f"subject folder {subject_dir.name} has no 'micro' folder; no clips"))
    else:
        problems += _spelling(micro, "micro")
        for emotion_dir in _subfolders(micro):
            if emotion_dir.name.lower() in EMOTIONS:
                problems += _spelling(emotion_dir, emotion_dir.name.lower())
            found += [(emotion_dir.name, clip_dir) for clip_dir in _subfolders(emotion_dir)]
    extra = _child(subject_dir, NON_MICRO)
    if extra is not None:
        problems += _spelling(extra, NON_MICRO)
        clips = _subfolders(extra)
        found += [(NON_MICRO, c) for c in clips] if non_micro else []
        skipped += [] if non_micro else [f"{subject_dir.name}/{NON_MICRO}/{c.name}" for c in clips]
    return found, problems


def _clip_row(root: Path, clip_dir: Path, subject: int, emotion_folder: str, camera: str, apex_rows: dict[str, ApexRow],
              have_list: bool) -> tuple[dict | None, list[Problem]]:
    """The Index row of one clip folder (None when unusable: a fatal problem says why)."""
    name = clip_dir.name
    clip = f"s{subject}/{name}"
    where = str(clip_dir.relative_to(root))
    if emotion_folder == NON_MICRO:
        emotion: str | None = NON_MICRO
        problems: list[Problem] = []
    else:
        emotion, problems = emotion_label(emotion_folder, EMOTIONS, where, clip)
    match = _CLIP_NAME.match(name)
    if match is None and emotion != NON_MICRO:
        problems.append(Problem("warning", where, clip, f"clip folder {name!r} does not follow s<n>_<ne|po|sur>_<k>; label taken from its folder"))
    elif match is not None:
        if int(match.group(1)) != subject:
            problems.append(Problem("fatal", where, clip, f"clip {name} is in subject folder s{subject} but its name says subject s{match.group(1)}; "
                                    "move it to its subject's folder"))
            emotion = None
        coded = CODES[match.group(2).lower()]
        if emotion is not None and emotion != NON_MICRO and coded != emotion:
            problems.append(Problem("fatal", where, clip, f"clip {name} is coded {match.group(2)!r} ({coded}) but sits in the {emotion_folder!r} "
                                    "folder; the label is ambiguous: move it to the folder its name codes"))
            emotion = None
        if name != name.lower():
            problems.append(Problem("warning", where, clip, f"clip folder {name!r} is spelled {name.lower()!r} in the release (datasets.md §3)"))
    try:
        listing = list_frames(clip_dir)
    except DataError as exc:
        return None, problems + [Problem("fatal", where, clip, str(exc))]
    if emotion is None:
        return None, problems
    onset, offset = listing[0][0], listing[-1][0]
    apex, source = (onset + offset) // 2, where
    entry = apex_rows.get(name.lower())
    if entry is not None:
        apex, found = _apex_from_list(entry, subject, emotion, onset, offset, clip)
        problems += found
        source = f"{where}; apex: {entry.where}"
    elif have_list and emotion != NON_MICRO:
        problems.append(Problem("warning", where, clip, f"clip not in the apex list; apex set to the middle frame {apex}"))
    return _row(f"s{subject}", clip, CAMERAS[camera], onset, apex, offset, emotion, source, clip_dir), problems


def _row(subject: str, clip: str, fps: float, onset: int, apex: int, offset: int, emotion: str, source: str, folder: Path) -> dict:
    return {"dataset": NAME, "subject": subject, "clip_id": clip, "kind": "micro", "fps": fps, "onset": onset, "apex": apex,
            "offset": offset, "emotion": emotion, "aus": [], "fold": None, "source": source, "frames_dir": str(folder.resolve())}


def _unique_clips(rows: list[dict]) -> list[Problem]:
    """Clip ids seen twice (``s1_ne_01`` under two emotion folders): both are removed, fatal."""
    count = pd.Series([r["clip_id"] for r in rows]).value_counts() if rows else pd.Series(dtype=int)
    twice = set(count[count > 1].index)
    problems = [Problem("fatal", r["source"], r["clip_id"], "the same clip folder name appears twice for this subject; keep one") for r in rows
                if r["clip_id"] in twice]
    rows[:] = [r for r in rows if r["clip_id"] not in twice]
    return problems


# --- the spec ----------------------------------------------------------------------------------
