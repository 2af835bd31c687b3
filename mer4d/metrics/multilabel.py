"""Multi-label scores (e.g. 4DME emotions): per-class binary F1 and accuracy, macro means, exact match.

Every class is scored as its own binary problem over the pooled predictions. F1 of the positive
label is 0 when it is undefined (no positives in truth nor prediction), matching scikit-learn's
``zero_division=0`` and the 4DMR challenge convention of averaging over all classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mer4d.core.errors import DataError, ShapeError


def binarize(scores: Any, threshold: float = 0.5, at_least_one: bool = False) -> np.ndarray:
    """Turn per-class scores into 0/1 decisions with ``score > threshold``.

    Args:
        scores: (N, K) (or any shape) real-valued scores, e.g. sigmoid probabilities; for raw logits
            pass ``threshold=0.0``.
        threshold: decision threshold; tune it on training folds only, never on the test fold.
        at_least_one: for label sets where every sample has a label (4DME emotions: "Others" when
            nothing else applies), a row with no score above ``threshold`` gets its top class.

    Returns:
        int64 array of the same shape holding 0 and 1.

    Raises:
        DataError: non-numeric or NaN scores (a NaN would silently become "negative").
    """
    arr = np.asarray(scores)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"binarize: expected numeric scores, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        where = np.argwhere(np.isnan(arr))[:3].tolist()
        raise DataError(f"binarize: scores contain NaN (first at positions {where}); check the model output for divergence")
    out = (arr > threshold).astype(np.int64)
    if at_least_one and arr.ndim == 2 and arr.shape[1] > 0:
        empty = out.sum(axis=1) == 0
        out[np.flatnonzero(empty), arr[empty].argmax(axis=1)] = 1
    return out


def _as_binary_matrix(y: Any, name: str) -> np.ndarray:
    """Validate an (N, K) 0/1 matrix and return it as int64."""
    arr = np.asarray(y)
    if arr.ndim != 2:
        raise ShapeError(f"{name}: expected a 2-D 0/1 array of shape (N, K), got shape {arr.shape}", "N K", tuple(arr.shape))
    if arr.size and arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: expected 0/1 numbers, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        values = sorted(set(np.unique(arr[~np.isin(arr, (0, 1))]).tolist()))
        raise DataError(
            f"{name}: expected only 0 and 1, found {values[:5]}{' ...' if len(values) > 5 else ''}. "
            "Threshold scores with mer4d.metrics.binarize first."
        )
    return arr.astype(np.int64)


def multilabel_scores(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> dict[str, float]:
    """Per-class and macro binary scores of a multi-label prediction.

    Args:
        y_true: (N, K) 0/1 ground truth, N >= 1.
        y_pred: (N, K) 0/1 decisions (see :func:`binarize`).
        class_names: K distinct names, used in the keys.

    Returns:
        ``f1_<name>`` (binary F1 of the positive label, 0 when undefined) and ``acc_<name>``
        (``(TP + TN) / N``) for every class, plus ``macro_f1`` and ``macro_acc`` (unweighted means
        over all K classes) and ``subset_acc`` (fraction of rows predicted exactly right).

    Raises:
        ShapeError: inputs are not 2-D, differ in shape, or K differs from ``len(class_names)``.
        DataError: values other than 0/1, no samples, or empty / duplicated class names.
    """
    t = _as_binary_matrix(y_true, "y_true")
    p = _as_binary_matrix(y_pred, "y_pred")
    names = [str(c) for c in class_names]
    if t.shape != p.shape:
        raise ShapeError(f"y_true and y_pred must have the same shape (N, K), got {t.shape} and {p.shape}", "N K", tuple(p.shape))
    if t.shape[1] != len(names):
        raise ShapeError(
            f"y_true has {t.shape[1]} columns but {len(names)} class names were given ({names}); pass one name per column",
            "N K",
            tuple(t.shape),
        )
    if not names:
        raise DataError("multilabel_scores: class_names is empty; there is nothing to score")
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DataError(f"multilabel_scores: class names must be distinct (they become metric keys), duplicated: {dup}")
    n = t.shape[0]
    if n == 0:
        raise DataError("multilabel_scores: got 0 samples; the scores are undefined. Pass the pooled test predictions.")
    tp = (t & p).sum(axis=0).astype(np.float64)
    fp = ((1 - t) & p).sum(axis=0)
    fn = (t & (1 - p)).sum(axis=0)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    acc = (t == p).sum(axis=0) / n
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        out[f"f1_{name}"] = float(f1[i])
        out[f"acc_{name}"] = float(acc[i])
    out["macro_f1"] = float(f1.mean())
    out["macro_acc"] = float(acc.mean())
    out["subset_acc"] = float((t == p).all(axis=1).mean())
    return out
