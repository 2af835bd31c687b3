"""For the built-in 4DME simulator: which planted AUs each of the recipe's views can see, per clip.

The simulator's label sheets carry the AU amplitudes it planted (``planted_mm``); with the
subject's face rebuilt from the simulator seed, :func:`mer4d.synth.visibility.visible_aus` says
which of them each view shows above noise. The result is the Index column ``visible_aus``
(``{view: AU codes}``), which the per-view ceiling reads (:mod:`mer4d.train.ceilings`). Real
datasets have no planted amplitudes and get no such column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar

VISIBLE_COLUMN = "visible_aus"


def planted_rows(root: Path) -> dict[tuple[str, str], dict[str, float]]:
    """``(subject, clip name) -> planted AU amplitudes`` from every 4DME-layout sheet of a simulated root."""
    from mer4d.synth.writers.fourdme import PLANTED_COLUMN, parse_planted

    out: dict[tuple[str, str], dict[str, float]] = {}
    for sheet in sorted(Path(root).glob("4DME_Labelling_*.xlsx")):
        table = pd.read_excel(sheet, dtype=str)
        if PLANTED_COLUMN not in table:
            raise DataError(f"{sheet}: no {PLANTED_COLUMN} column, so this simulated dataset predates simulator v7; delete the folder "
                            f"{root} and run again to regenerate it")
        for sub, name, text in zip(table["sub_ID"], table["fold_name"], table[PLANTED_COLUMN], strict=True):
            out[(str(sub), str(name))] = parse_planted(text)
    return out


def attach_visible(index: pd.DataFrame, root: Path, seed: int, size: str, views: tuple[str, ...], yaw_deg: float, pixels: int,
                   progress: bool = True) -> pd.DataFrame:
    """``index`` with :data:`VISIBLE_COLUMN`: per clip, ``{view: planted AU codes that view sees}``."""
    from mer4d.synth.visibility import visible_aus
    from mer4d.synth.writers.fourdme import simulated_face

    planted = planted_rows(root)
    faces: dict[str, object] = {}
    seen = []
    for subject, name in progress_bar(list(zip(index["subject"], index["clip_name"], strict=True)), desc="planted AUs -> per-view visibility",
                              unit="clip", disable=not progress):
        if (subject, name) not in planted:
            raise DataError(f"{root}: clip {subject}/{name} is not in the simulator's label sheets; delete {root} to regenerate it")
        if subject not in faces:
            faces[subject] = simulated_face(seed, int(subject.lstrip("S")) - 1, size)
        seen.append(visible_aus(faces[subject], planted[(subject, name)], views, yaw_deg, pixels))
    out = index.assign(**{VISIBLE_COLUMN: seen})
    out.attrs = dict(index.attrs)
    return out
