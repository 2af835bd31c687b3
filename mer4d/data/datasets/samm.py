"""SAMM (Davison et al. 2018, IEEE TAC 9(1) 116-129): spontaneous micro-movements, 200 fps grayscale.

Layout of a copy (datasets.md §2)::

    <root>/SAMM_Micro_FACS_Codes_v2.xlsx        # sheet MICRO_ONLY, 13 preamble rows, header on row 14
    <root>/SAMM/006/006_1_2/006_05562.jpg       # {subject}/{Filename}/{subject}_{frame}.jpg (``frames="raw"``)
    <root>/SAMM_CROP/006/006_1_2/...            # face-cropped copy, same naming (``frames="cropped"``)

A root whose own subfolders are the subjects (``<root>/006/006_1_2/``) is read as the raw tree too
(the MEGC2019 composite points at such a folder). Frame numbers in the sheet are the numbers in the
file names (absolute; padded to 4 or 5 digits depending on the sequence, so files are listed, not
built from a template: §0.1). Index conventions:

* ``subject`` = the sheet's ``Subject`` text (``"006"``; a re-saved copy with numeric cells writes
  ``6``, read as ``"006"`` with a warning, §0.3); ``clip_id`` = ``"006/006_1_2"``;
* ``emotion`` = ``Estimated Emotion`` lower-cased: SAMM's class is the singular ``Other`` (-> ``other``);
* ``kind`` from the ``Micro`` column (``"Micro - 1/2"`` in every v2 row); ``objective_class`` =
  ``Objective Classes`` (1..7, Davison et al. 2018's objective classes I..VII), ``inducement_code``
  and ``notes`` as in the sheet.

AU cells hold the messiest notation of all the datasets (§2); :func:`samm_au_codes` reads it.
Label-file versions: ``SAMM_Micro_FACS_Codes_v2.xlsx`` (the 9/9/17 update that added the emotion
and objective classes), ``SAMM_20181215_Micro_FACS_Codes_v2.xlsx`` (the same v2 with another
preamble, MEAN) and the older ``SAMM_Micro_FACS_Codes.xlsx``; several present -> the newest
(highest version, then latest date) with a warning naming the others, or ``label_file`` to choose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import EXCEL_ROW, column, read_table
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root

NAME = "samm"
FPS = 200.0  # datasets.md §2 (merlib SAMM_info.fps, the MEGC2019 guideline)
EMOTIONS: tuple[str, ...] = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other")
SHEET = "MICRO_ONLY"
LABEL_FILE = "SAMM_Micro_FACS_Codes_v2.xlsx"
_LABEL_NAME = re.compile(r"^SAMM(?:_(?P<date>\d{8}))?_Micro_FACS_Codes(?:_v(?P<version>\d+))?\.xlsx?$", re.IGNORECASE)
FRAME_TREES: dict[str, str] = {"raw": "SAMM", "cropped": "SAMM_CROP"}
HEADER_KEYS = ("Subject", "Filename")  # §0.6: the header is the first row holding both
REQUIRED = ("Subject", "Filename", "Onset Frame", "Apex Frame", "Offset Frame", "Action Units", "Estimated Emotion")
OPTIONAL = ("Inducement Code", "Duration", "Micro", "Objective Classes", "Notes")
INDEX_COLUMNS = ("dataset", "subject", "clip_id", "kind", "fps", "onset", "apex", "offset", "emotion", "aus", "fold",
                 "objective_class", "inducement_code", "notes", "source", "frames_dir")

# AU notation (datasets.md §2 and the sheet's own Symbol Key: '"/" = or', '"?" = some AU's continue
# for a while and have unclear offset').
_REF = re.compile(r"^ref\s*\((?P<inner>[^()]*)\)$", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_INTENSITY_CHOICE = re.compile(r"^(?P<au>[LRATB]?\d+)(?P<first>[A-E])(?:/[A-E])+$", re.IGNORECASE)  # 10A/B
_PREFIX_CHOICE = re.compile(r"^(?P<prefixes>[LRATB](?:/[LRATB])+)(?P<rest>\d+[A-E]?)$", re.IGNORECASE)  # A/L12


def _whole(text: object) -> int | None:
    """A whole number written as ``12``, ``12.0`` or ``"12"``; None for anything else."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def scan(root: Path, *, frames: str = "raw", label_file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a SAMM copy into the Index.

    Args:
        root: the folder holding the label spreadsheet and the frame tree.
        frames: ``"raw"`` (the release's ``SAMM/`` tree, or subject folders directly in ``root``)
            or ``"cropped"`` (``SAMM_CROP/``, a face-cropped copy with the same naming).
        label_file: the spreadsheet's file name in ``root`` when several versions are present;
            None -> the newest (see the module docstring).

    Returns:
        The Index (one row per usable label row, ``frames_dir`` = the clip's folder) and the
        problems found; unusable rows are fatal problems and not in the Index.

    Raises:
        DataError: an unknown option value, no label file, a label file without emotion classes,
            or no frame tree of the chosen kind.
    """
    root = require_root(root, NAME)
    if frames not in FRAME_TREES:
        raise DataError(f"{NAME}: unknown frames {frames!r}; expected one of {sorted(FRAME_TREES)} (dataset.params.frames)")
    path, problems = find_label_file(root, label_file)
    tree = find_frame_tree(root, frames)
    rows, found = read_labels(path, tree)
    problems += found
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    for name in ("objective_class", "inducement_code", "notes"):  # int / str or None per clip, not NaN
        index[name] = pd.Series([r[name] for r in rows], dtype=object)
    return (validate_index(index, source=f"{NAME} at {root}") if rows else index), problems


def label_version(name: str) -> tuple[int, str] | None:
    """``(version, date)`` of a SAMM micro label file name (v1 has no ``_v``, undated copies date ``""``), else None."""
    match = _LABEL_NAME.match(name)
    if match is None:
        return None
    return int(match.group("version") or 1), match.group("date") or ""


def find_label_file(root: Path, chosen: str | None = None) -> tuple[Path, list[Problem]]:
    """The label spreadsheet to read and warnings naming the versions passed over.

    Looked for in ``root``, then in its ``SAMM/`` and ``SAMM_CROP/`` folders (a copy may keep the
    sheet beside the subject folders); ``chosen`` is a file name or a path relative to ``root``.
    """
    folders = [root, *(d for name in FRAME_TREES.values() if (d := _child_dir(root, name)) is not None)]
    found = sorted((p for folder in folders for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and label_version(p.name)),
                   key=lambda p: (label_version(p.name), p.parent == root, p.name), reverse=True)
    if chosen is not None:
        path = root / chosen
        if not path.is_file():
            raise DataError(f"{NAME}: dataset.params.label_file {chosen!r} is not a file in {root}; found {[_shown(p, root) for p in found]}")
        found = [path] + [p for p in found if p.resolve() != path.resolve()]
    if not found:
        sheets = sorted(p.name for folder in folders for p in folder.iterdir() if p.suffix.lower() in (".xlsx", ".xls", ".csv"))
        spotting = [s for s in sheets if "longvideo" in s.lower()]
        hint = (f"; {spotting[0]} is the spotting annotation of the long videos, not of the micro-expression clips" if spotting
                else f"; found {sheets}" if sheets else "; it holds no spreadsheet")
        raise DataError(f"{NAME}: no SAMM label file {LABEL_FILE} (or another SAMM_*Micro_FACS_Codes*.xlsx version) in "
                        f"{' or '.join(str(f) for f in folders)}{hint}")
    path, problems = found[0], []
    for other in found[1:]:
        why = "chosen by dataset.params.label_file" if chosen is not None else "the newest version (datasets.md §0.6)"
        problems.append(Problem("warning", _shown(other, root), "", f"several SAMM label files: using {_shown(path, root)} ({why}), "
                                f"ignoring {_shown(other, root)}; set dataset.params.label_file to read another"))
    return path, problems


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _child_dir(folder: Path, name: str) -> Path | None:
    """``folder/name`` as a folder, the name matched without regard to case."""
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and entry.name.lower() == name.lower():
            return entry
    return None


def find_frame_tree(root: Path, frames: str) -> Path:
    """The folder whose subfolders are the subjects (``006``...), for ``frames`` raw or cropped."""
    name = FRAME_TREES[frames]
    tree = _child_dir(root, name)
    if tree is not None:
        return tree
    if frames == "raw" and any(e.is_dir() and e.name.isdigit() for e in root.iterdir()):
        return root
    others = [n for kind, n in FRAME_TREES.items() if kind != frames and (root / n).is_dir()]
    hint = f"; found {others}: set dataset.params.frames to the other kind" if others else ""
    raise DataError(f"{NAME}: no {frames} frame folder {name}/ (subject folders such as 006/) in {root}{hint}")


def _sheet_of(path: Path) -> tuple[str | None, list[Problem]]:
    if path.suffix.lower() == ".csv":
        return None, []
    try:
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
    except Exception:  # a corrupt or mis-named file: read_table raises the worded error
        return None, []
    for name in names:
        if name.strip().lower() == SHEET.lower():
            return name, []
    return names[0], [Problem("warning", path.name, "", f"no sheet {SHEET} (the v2 file's only sheet); reading the first sheet {names[0]!r} of {names}")]


def read_labels(path: Path, tree: Path) -> tuple[list[dict], list[Problem]]:
    """Index rows of the label file ``path`` whose clip folders are in ``tree``, and the problems."""
    sheet, problems = _sheet_of(path)
    table = read_table(path, HEADER_KEYS, sheet=sheet)
    missing = [name for name in REQUIRED if not _has(table, name)]
    if missing:
        version = " (the v1 file predates the emotion classes, added 9/9/17 in v2)" if "Estimated Emotion" in missing else ""
        raise DataError(f"{path}: header lacks column(s) {missing}{version}; found {[c for c in table.columns if c != EXCEL_ROW]}. "
                        f"Use {LABEL_FILE}")
    cols = {name: column(table, name) for name in REQUIRED}
    cols |= {name: column(table, name) for name in OPTIONAL if _has(table, name)}
    for name in OPTIONAL:
        if name not in cols:
            problems.append(Problem("warning", path.name, "", f"no '{name}' column (the v2 file has one); its checks are skipped"))
    subjects = {e.name: e for e in tree.iterdir() if e.is_dir()}
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for rec in table.to_dict("records"):
        row, found = _row(rec, cols, f"{path.name} row {rec[EXCEL_ROW]}", tree, subjects, seen)
        problems += found
        if row is not None:
            rows.append(row)
    return rows, problems


def _has(table: pd.DataFrame, name: str) -> bool:
    try:
        column(table, name)
    except DataError:
        return False
    return True


def _row(rec: dict, cols: dict[str, str], where: str, tree: Path, subjects: dict[str, Path], seen: dict[str, int]) -> tuple[dict | None, list[Problem]]:
    """One Index row (or None) and the problems of one label row."""
    cell = {name: rec[c] for name, c in cols.items()}
    filename = cell["Filename"]
    subject, problems = subject_id(cell["Subject"], where, filename)
    if subject is None:
        return None, problems
    clip = f"{subject}/{filename}"
    if not filename:
        return None, problems + [Problem("fatal", where, clip, "no Filename in this row; fill the cell (the clip folder, e.g. 006_1_2)")]
    if clip in seen:
        return None, problems + [Problem("fatal", where, clip, f"subject {subject} and Filename {filename} are already used by row {seen[clip]}; "
                                         "keep one of the two rows")]
    seen[clip] = rec[EXCEL_ROW]
    code = _filename_checks(filename, subject, cell.get("Inducement Code", ""), where, clip, problems)
    emotion, found = _emotion(cell["Estimated Emotion"], where, clip)
    problems += found
    triplet, found = frame_triplet(cell["Onset Frame"], cell["Apex Frame"], cell["Offset Frame"], where, clip)
    problems += found
    aus, found = samm_au_codes(cell["Action Units"], where, clip)
    problems += found
    if triplet is not None and _whole(cell.get("Duration", "")) not in (None, triplet[2] - triplet[0] + 1):
        # the release computes Duration by formula (=SUM(F15-D15)+1); a typed-over value disagrees
        problems.append(Problem("warning", where, clip, f"Duration {cell['Duration']} is not offset - onset + 1 = {triplet[2] - triplet[0] + 1}; "
                                "the frame numbers are used"))
    kind = _kind(cell.get("Micro"), triplet, where, clip, problems)
    objective = _objective_class(cell["Objective Classes"], where, clip, problems) if "Objective Classes" in cell else None
    folder, found = clip_folder(tree, subjects, subject, filename, where, clip)
    problems += found
    if emotion is None or triplet is None or folder is None:
        return None, problems
    onset, apex, offset = triplet
    return {"dataset": NAME, "subject": subject, "clip_id": clip, "kind": kind, "fps": FPS, "onset": onset, "apex": apex, "offset": offset,
            "emotion": emotion, "aus": aus, "fold": None, "objective_class": objective, "inducement_code": code,
            "notes": cell.get("Notes") or None, "source": where, "frames_dir": str(folder.resolve())}, problems


def subject_id(cell: str, where: str, clip_hint: str) -> tuple[str | None, list[Problem]]:
    """The three-digit subject id the folders use; pandas or a re-saved copy turns ``"006"`` into ``6`` (§0.3)."""
    if not cell:
        return None, [Problem("fatal", where, clip_hint, "no Subject in this row; fill the cell (SAMM writes '006'..'037')")]
    number = _whole(cell)
    if number is None or number < 0:
        return None, [Problem("fatal", where, clip_hint, f"Subject {cell!r} is not a SAMM subject number ('006'..'037')")]
    subject = f"{number:03d}"
    if subject != cell:
        return subject, [Problem("warning", where, f"{subject}/{clip_hint}", f"Subject {cell!r} read as {subject!r} (folder {subject}); the release "
                                 "writes three-digit text, so this copy was re-saved with numeric cells")]
    return subject, []


def _filename_checks(filename: str, subject: str, code_cell: str, where: str, clip: str, problems: list[Problem]) -> int | None:
    """The inducement code; warnings where ``Filename`` ({subject}_{code}_{k}) and the other cells disagree."""
    parts = filename.split("_")
    if parts[0] != subject:
        problems.append(Problem("warning", where, clip, f"Filename {filename} does not start with the subject {subject} (release names are "
                                "{subject}_{inducement code}_{k}); the folder is looked up as written"))
    code = _whole(code_cell) if code_cell else None
    if code_cell and code is None:
        problems.append(Problem("warning", where, clip, f"Inducement Code {code_cell!r} is not a number; left unset"))
    elif code is not None and len(parts) == 3 and parts[1] != str(code):
        problems.append(Problem("warning", where, clip, f"Inducement Code {code} differs from the {parts[1]} in Filename {filename}"))
    return code


def _emotion(cell: str, where: str, clip: str) -> tuple[str | None, list[Problem]]:
    """SAMM's own class; the plural ``Others`` of other datasets is read as SAMM's ``other`` with a warning (§0.7)."""
    if cell.strip().lower() == "others":
        return "other", [Problem("warning", where, clip, f"emotion {cell.strip()!r} read as 'other' (SAMM writes the singular 'Other')")]
    return emotion_label(cell, EMOTIONS, where, clip)


def _kind(cell: str | None, triplet: tuple[int, int, int] | None, where: str, clip: str, problems: list[Problem]) -> str:
    """``micro``/``macro`` from the ``Micro`` column (``"Micro - 1/2"``: at most half a second [INF])."""
    text = (cell or "").strip().lower()
    if cell is None or text.startswith("micro"):
        return "micro"
    if text.startswith("macro"):
        return "macro"
    shown = repr(cell) if cell else "empty"
    if triplet is None:
        problems.append(Problem("warning", where, clip, f"Micro {shown} is neither 'Micro - 1/2' nor a macro label; read as micro"))
        return "micro"
    length = triplet[2] - triplet[0] + 1
    kind = "micro" if length <= FPS / 2 + 1 else "macro"  # the release's longest micro clip is 101 frames
    problems.append(Problem("warning", where, clip, f"Micro {shown} is neither 'Micro - 1/2' nor a macro label; read as {kind} from its "
                            f"length ({length} frames at {FPS:g} fps, half a second = {FPS / 2 + 1:g} frames)"))
    return kind


def _objective_class(cell: str, where: str, clip: str, problems: list[Problem]) -> int | None:
    number = _whole(cell) if cell else None
    if number is not None and 1 <= number <= 7:
        return number
    shown = repr(cell) if cell else "empty"
    problems.append(Problem("warning", where, clip, f"Objective Classes {shown} is not a class 1..7 (Davison et al. 2018 I..VII); left unset"))
    return None


def clip_folder(tree: Path, subjects: dict[str, Path], subject: str, filename: str, where: str, clip: str) -> tuple[Path | None, list[Problem]]:
    folder = subjects.get(subject)
    if folder is None:
        unpadded = str(int(subject))
        hint = f" (there is a folder {unpadded}: the release pads subject folders to three digits, rename it {subject})" if unpadded in subjects else ""
        return None, [Problem("fatal", where, clip, f"subject folder {subject} is missing in {tree}{hint}; restore it or remove the subject's rows")]
    exact = folder / filename
    if exact.is_dir():
        return exact, []
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.lower() == filename.lower():
            return entry, []
    return None, [Problem("fatal", where, clip, f"no clip folder {filename} in {folder}; restore the folder or remove the row")]


def _split_plus(text: str) -> list[str]:
    """``+``-separated pieces, not splitting inside parentheses (``(R6 or R12)+R15``)."""
    pieces, depth, current = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth <= 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def _unwrap(piece: str, readings: list[str]) -> str:
    match = _REF.match(piece)
    if match:
        readings.append(f"{piece!r} read as {match.group('inner').strip()} ('ref' is not in the sheet's Symbol Key; the AU is kept)")
        return match.group("inner").strip()
    if piece.startswith("(") and piece.endswith(")"):
        return piece[1:-1].strip()
    return piece


def _alternatives(piece: str, readings: list[str]) -> list[str]:
    """The AUs one ``+`` piece may stand for: ``L12 or L14``, ``A/L12`` (prefix choice), ``10A/B`` (intensity choice)."""
    choices = [c.strip() for c in _OR.split(piece)]
    if len(choices) == 1 and "/" in piece:
        intensity, prefix = _INTENSITY_CHOICE.match(piece), _PREFIX_CHOICE.match(piece)
        if intensity:  # '/' = or between intensities: the AU is certain, only A-E is not
            return [intensity.group("au") + intensity.group("first")]
        choices = [p + prefix.group("rest") for p in prefix.group("prefixes").split("/")] if prefix else [c.strip() for c in piece.split("/")]
    if len(choices) > 1:
        readings.append(f"{piece!r} names alternatives ('or' / '/'): all of {', '.join(choices)} kept, the sheet does not say which "
                        "(meb picks one per row from optical flow)")
    out = []
    for choice in choices:
        choice = _unwrap(choice, readings)
        if len(choice) > 1 and choice.endswith("?"):
            readings.append(f"{choice!r}: '?' marks an AU with an unclear offset (the sheet's Symbol Key); {choice[:-1]} kept")
            choice = choice[:-1].strip()
        out.append(choice)
    return out


def samm_au_codes(cell: str, where: str, clip: str) -> tuple[list[str], list[Problem]]:
    """Canonical AU codes of a SAMM ``Action Units`` cell, each reading that is not plain FACS a warning.

    ``7B`` / ``R14A`` (intensity letters) and ``A12``, ``T18``, ``B18`` (asymmetric, top, bottom
    prefixes, kept as written) are FACS notation; ``ref(7B)`` is read as ``7B``, an alternative
    (``(R6 or R12)``, ``L12 or L14``, ``A/L12``) keeps every AU it names, ``10A/B`` is AU10 with an
    uncertain intensity (no warning: the code is certain), ``12?`` is AU12, and free text such as
    ``soft focus`` is left out by :func:`mer4d.data.rows.au_codes` with a warning.
    """
    text = str(cell).strip()
    if not text:
        return [], [Problem("warning", where, clip, "no Action Units coded in this row; the clip has no AUs")]
    readings: list[str] = []
    tokens = [a for piece in _split_plus(text) for a in _alternatives(_unwrap(piece, readings), readings)]
    codes, problems = au_codes("+".join(tokens), where, clip)
    if readings:
        problems.insert(0, Problem("warning", where, clip, f"AU text {text!r}: " + "; ".join(readings)))
    return list(dict.fromkeys(codes)), problems


def _schemes() -> dict[str, LabelScheme]:
    own = LabelScheme.identity(EMOTIONS, "Davison et al. 2018 (SAMM) with the v2 label file's 'Estimated Emotion' classes "
                               "(9/9/17 update; Davison, Merghani & Yap 2018, arXiv 1708.07549), singular 'Other' (datasets.md §2)")
    five_classes = ("anger", "contempt", "happiness", "surprise", "other")
    # The SAMM five-class task of the sole-database literature (MoExt Table 4 and the methods it
    # compares: MTMNet, MiMaNet, GRAPH-AU, CMNet) keeps the classes with at least ten clips in the v2
    # file: anger 57, contempt 12, happiness 26, surprise 15, other 26 = 136; disgust (9), fear (8)
    # and sadness (6) are left out, not folded into other.
    five = LabelScheme(five_classes, {**{c: c for c in five_classes}, "disgust": None, "fear": None, "sadness": None},
                       "SAMM 5 classes (anger, contempt, happiness, surprise, other; 136 clips) as in MoExt Table 4 / MTMNet / MiMaNet; "
                       "disgust, fear and sadness omitted (fewer than 10 clips each)")
    megc = LabelScheme(("negative", "positive", "surprise"),
                       {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative", "sadness": "negative",
                        "happiness": "positive", "surprise": "surprise", "other": None},
                       "MEGC2019 recognition challenge guideline (negative = repression, anger, contempt, disgust, fear, sadness; "
                       "positive = happiness; surprise; others omitted): SAMM part = 92 + 26 + 15 = 133 clips, datasets.md §9")
    return {"own": own, "five": five, "megc2019": megc}


SPEC = register(DatasetSpec(
    name=NAME,
    title="SAMM: 159 micro-movement clips of 29 subjects (32 recorded), 200 fps grayscale (SAMM_Micro_FACS_Codes_v2)",
    scan=scan,
    schemes=_schemes(),
    default_scheme="five",
    modalities={"gray": Modality("frames_dir", color="gray")},
    default_modality="gray",
    writer=NAME,
    extra={"writer_options": ("frames",)},
))
