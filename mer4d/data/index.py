"""The Index: one row per clip, the only thing downstream code reads about a dataset.

Columns (DESIGN §3; later corpora add more, never rename):

=========== ======== ==========================================================================
column      type     meaning
=========== ======== ==========================================================================
dataset     str      corpus name ("toy", "4dme", "casme2", ...)
subject     str      subject id as the dataset writes it; folds never split a subject
clip_id     str      unique within the index
kind        str      "micro" or "macro"
fps         float    frame rate of the primary modality
onset       int      absolute frame numbers as the dataset writes them
apex        int
offset      int
emotion     str      single-label class (tasks "emotion")
emotions    list     multi-label classes (task "emotion_multilabel"), optional
aus         list     canonical AU codes ("AU4", "L12", "R2"), optional
fold        object   dataset-defined fold/split label, optional (None when absent)
augmented_from int   row position of the clip this row is an augmented copy of (e.g. EVM), -1
                     for originals; optional. Copies train with their original, never test.
=========== ======== ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mer4d.core.errors import DataError

REQUIRED_COLUMNS: tuple[str, ...] = ("dataset", "subject", "clip_id", "kind", "fps", "onset", "apex", "offset")


def validate_index(index: pd.DataFrame, required: Iterable[str] = REQUIRED_COLUMNS, source: str = "index") -> pd.DataFrame:
    """Check the Index contract and return it with a fresh 0..n-1 integer row index.

    Raises:
        DataError: naming the missing columns or the duplicated clip ids.
    """
    missing = [c for c in required if c not in index.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; found {list(index.columns)}")
    if len(index) == 0:
        raise DataError(f"{source}: the index has no rows (no clips were found)")
    dup = index["clip_id"][index["clip_id"].duplicated()].tolist()
    if dup:
        raise DataError(f"{source}: clip_id must be unique, duplicated: {dup[:5]}{' ...' if len(dup) > 5 else ''}")
    out = index.reset_index(drop=True).copy()
    out["subject"] = out["subject"].astype(str)
    return out


LABEL_COLUMNS: tuple[str, ...] = ("emotion", "emotions", "aus")
# Salt mixed into the seed for the label permutation, so it is not correlated with generation.
_SHUFFLE_SALT = 0x5348_5546


def shuffle_labels(index: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A copy of ``index`` whose label columns are permuted together across all clips (a control).

    Class counts and label co-occurrence are kept; only the pairing of labels with clips is
    broken, so a sound pipeline must score near chance, and anything clearly above it points
    to leakage between training and test data.
    """
    import numpy as np

    order = np.random.default_rng([seed, _SHUFFLE_SALT]).permutation(len(index))
    out = index.copy()
    for column in LABEL_COLUMNS:
        if column in out.columns:
            out[column] = out[column].to_numpy()[order]
    return out
