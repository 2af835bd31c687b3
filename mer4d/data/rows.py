"""Turning one label-file row into Index values, with every quirk a named :class:`Problem`.

Shared by every dataset spec, so a quirk is handled the same way everywhere and the same way in
``mer4d run`` as in ``mer4d data check`` (both call the spec's ``scan``):

* frame numbers (datasets.md §0.5): onset/offset that are not whole numbers, or offset < onset,
  make the clip unusable (fatal); an apex that is missing, ``/``, ``0`` or outside
  [onset, offset] is set to the middle frame ``(onset + offset) // 2`` with a warning;
* AUs: every token is parsed (:func:`mer4d.labels.aus.parse_aus`) and checked against the FACS
  codes (:mod:`mer4d.labels.facs`); a token that is not an AU (``?``, ``13?``, ``AU99``) is left out
  of the clip's AUs and listed as a warning with the cell text;
* emotions: lower-cased and stripped; an empty cell is fatal (never a silent default), and so is
  a label outside the dataset's vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable

from mer4d.data.problems import Problem
from mer4d.labels.aus import parse_aus
from mer4d.labels.facs import is_facs

MISSING_APEX = ("", "/", "-", "nan", "none")


def _whole(text: object) -> int | None:
    s = str(text).strip()
    try:
        value = float(s)
    except ValueError:
        return None
    return int(value) if value == int(value) else None


def frame_triplet(onset: object, apex: object, offset: object, where: str, clip: str) -> tuple[tuple[int, int, int] | None, list[Problem]]:
    """``((onset, apex, offset), problems)``; ``None`` when the clip cannot be used (a fatal problem says why)."""
    first, last = _whole(onset), _whole(offset)
    if first is None or last is None:
        bad = "onset" if first is None else "offset"
        return None, [Problem("fatal", where, clip, f"{bad} {onset if first is None else offset!r} is not a frame number")]
    if last < first:
        return None, [Problem("fatal", where, clip, f"offset {last} is before onset {first}; fix the row (frame numbers as in the file names)")]
    middle = (first + last) // 2
    peak = None if str(apex).strip().lower() in MISSING_APEX else _whole(apex)
    if peak is None or peak == 0 and first > 0:
        return (first, middle, last), [Problem("warning", where, clip, f"apex {apex!r} is not a frame number; set to the middle frame {middle} (datasets.md §0.5)")]
    if not first <= peak <= last:
        return (first, middle, last), [Problem("warning", where, clip, f"apex {peak} is outside onset..offset {first}..{last}; set to the middle frame {middle}")]
    return (first, peak, last), []


def au_codes(cell: object, where: str, clip: str) -> tuple[list[str], list[Problem]]:
    """Canonical AU codes of a cell (``"4+L10"`` -> ``["AU4", "L10"]``), FACS-checked; problems for the rest."""
    tokens, unknown = parse_aus(cell, source=where, strict=False)
    codes, problems = [], []
    for token in tokens:
        if is_facs(token.number):
            codes.append(token.code)
        else:
            unknown.append(str(token))
    if unknown:
        problems.append(Problem("warning", where, clip, f"AU text {str(cell)!r}: {unknown} not FACS action unit(s); left out of the clip's AUs"))
    return codes, problems


def emotion_label(cell: object, vocabulary: Iterable[str], where: str, clip: str) -> tuple[str | None, list[Problem]]:
    """The lower-cased emotion, or None with a fatal problem when it is empty or not in ``vocabulary``."""
    text = "" if cell is None else str(cell).strip().lower()
    if text in ("", "nan"):
        return None, [Problem("fatal", where, clip, "no emotion label in this row; fill the cell (no default is assumed)")]
    known = tuple(vocabulary)
    if text not in known:
        return None, [Problem("fatal", where, clip, f"emotion {str(cell).strip()!r} is not one of this dataset's labels {list(known)}")]
    return text, []
