"""Corpus: a dataset made ready for training (Index + clip loader + label set + fingerprint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Corpus:
    """Everything the training engine needs from a dataset.

    Attributes:
        name: corpus name, as registered in ``mer4d.data.spec.DATASETS``.
        index: the Index (see :mod:`mer4d.data.index`), rows 0..n-1.
        classes: the fixed, ordered label set; metrics always use all of them.
        load_clip: row position -> float32 array of shape (C, T, H, W).
        fingerprint: a short hash identifying the exact data (files + labels + settings);
            logged with every run so a number can be traced to the data that produced it.
        description: one human line for the run banner ("built-in toy generator, 6 subjects").
        problems: what the scan and file check found (warnings repaired; fatal ones skipped when
            ``dataset.on_problem: skip``), for the run's records.
    """

    name: str
    index: pd.DataFrame
    classes: tuple[str, ...]
    load_clip: Callable[[int], np.ndarray]
    fingerprint: str
    description: str = ""
    problems: tuple = ()

    def __len__(self) -> int:
        return len(self.index)
