"""Ceilings of a 4DME-style multi-label emotion task: how far a method could get at most.

Every 4DME label follows from its AUs through the paper's rule table (Table 4,
:mod:`mer4d.labels.au_emotion`), so the rules applied to what a method could know bound it:

- ``ceiling_label_macro_f1``: the rules on the sheet's AUs (active and static). 1.0 when the
  label file agrees with its own AUs (always on the simulator; on real 4DME it measures that).
- ``ceiling_motion_macro_f1``: the rules on the active AUs only. Dynamic images cancel whatever
  holds still (rank pooling, ``preprocess/dynamic.py``), so static AUs are out of reach.
- ``ceiling_views_macro_f1``: the rules on the active AUs that the run's views can see above
  noise (simulator only: the Index column ``visible_aus``, :mod:`mer4d.pipeline.planted`).

Each is the pooled macro F1 of those rule decisions against the labels, over the clips tested.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.labels.au_emotion import FOURDME_EMOTIONS, emotions_from_aus
from mer4d.labels.aus import AUToken, parse_aus
from mer4d.metrics.multilabel import multilabel_scores
from mer4d.pipeline.planted import VISIBLE_COLUMN

log = logging.getLogger(__name__)


def _decide(aus: Iterable[list[AUToken]], classes: tuple[str, ...]) -> np.ndarray:
    """(N, K) multi-hot of the rule table's decision for each clip's AUs."""
    rows = [[float(c in emotions_from_aus(tokens)) for c in classes] for tokens in aus]
    return np.asarray(rows, np.float32).reshape(len(rows), len(classes))


def ceiling_metrics(index: pd.DataFrame, targets: np.ndarray, classes: tuple[str, ...], task: str, views: tuple[str, ...] | None = None) -> dict[str, float]:
    """The ceilings above for the clips of ``index`` (rows aligned with ``targets``); empty when they do not apply."""
    if task != "emotion_multilabel" or not set(classes) <= set(FOURDME_EMOTIONS) or "aus" not in index or len(index) == 0:
        return {}
    static = index["aus_static"] if "aus_static" in index else [[] for _ in range(len(index))]
    try:  # AU codes as the Index holds them (a bare "4" reads as AU4)
        active = [parse_aus("+".join(row)) if len(row) else [] for row in index["aus"]]
        held = [[AUToken(t.code, static=True) for t in parse_aus("+".join(row))] if len(row) else [] for row in static]
    except DataError as exc:
        log.warning(f"no ceilings for this run: an AU code of the Index does not parse ({exc})")
        return {}
    names = list(classes)
    out = {
        "ceiling_label_macro_f1": multilabel_scores(targets, _decide([a + h for a, h in zip(active, held, strict=True)], classes), names)["macro_f1"],
        "ceiling_motion_macro_f1": multilabel_scores(targets, _decide(active, classes), names)["macro_f1"],
    }
    if VISIBLE_COLUMN in index:  # views None: every view the Index was rendered for
        seen = [parse_aus("+".join(sorted({c for v in (views or per_view) for c in per_view.get(v, ())}))) for per_view in index[VISIBLE_COLUMN]]
        out["ceiling_views_macro_f1"] = multilabel_scores(targets, _decide(seen, classes), names)["macro_f1"]
    return out
