"""Inner validation split for early stopping, carved from a fold's *training* subjects only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mer4d.core.errors import ProtocolError


def inner_validation_split(index: pd.DataFrame, train: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training row positions into (train, validation) by whole subjects.

    At least one subject goes to each side; the choice is deterministic by ``seed``.

    Raises:
        ProtocolError: when the fold has fewer than two training subjects.
    """
    subjects = np.array(sorted(index["subject"].iloc[train].unique()))
    if len(subjects) < 2:
        raise ProtocolError(
            f"train.val_fraction={fraction} needs at least 2 training subjects to carve a validation set, this fold has {len(subjects)}; "
            "set train.val_fraction=0 to train a fixed epoch budget"
        )
    n_val = min(len(subjects) - 1, max(1, round(fraction * len(subjects))))
    chosen = np.random.default_rng(seed).choice(subjects, size=n_val, replace=False)
    is_val = index["subject"].iloc[train].isin(chosen).to_numpy()
    return np.sort(train[~is_val]), np.sort(train[is_val])
