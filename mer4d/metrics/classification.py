"""Single-label scores: confusion matrix, per-class F1, ACC / UF1 / UAR (MEGC 2019 definitions).

All scores use the fixed label set ``0..K-1``. A class that never occurs (neither in the truth nor
in the predictions) still counts, with F1 = 0 and recall = 0, because the widely copied helpers that
silently drop such classes inflate UF1 and make numbers incomparable across folds and papers.

The primary numbers are *pooled*: concatenate the test predictions of every fold and score once.
:func:`per_fold_means` gives the (different, noisier) mean of per-fold scores for reporting next
to them, never instead of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from mer4d.core.errors import DataError, ShapeError


def _check_num_classes(num_classes: Any) -> int:
    # bool is an int subclass; num_classes=True is a bug, not K=1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise DataError(f"num_classes must be a positive integer (the size of the fixed label set), got {num_classes!r}")
    return int(num_classes)


def _as_labels(y: Any, name: str, num_classes: int) -> np.ndarray:
    """Validate one label vector: 1-D, integer dtype, values in ``0..K-1``; returns int64 (N,)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ShapeError(
            f"{name}: expected a 1-D array of class indices (N,), got shape {arr.shape}. "
            "For scores or one-hot rows pass scores.argmax(axis=1).",
            "N",
            tuple(arr.shape),
        )
    if arr.size and arr.dtype.kind not in "iu":
        raise DataError(
            f"{name}: expected integer class indices in 0..{num_classes - 1}, got dtype {arr.dtype} "
            f"(first values {arr[:3].tolist()}). Map label names to indices first, or cast integral floats with .astype(int)."
        )
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        values = sorted(set(arr[bad].tolist()))
        raise DataError(
            f"{name}: class indices must lie in 0..{num_classes - 1} (num_classes={num_classes}), "
            f"found {values[:5]}{' ...' if len(values) > 5 else ''}. Check num_classes or the label mapping."
        )
    return arr


def _pair(y_true: Any, y_pred: Any, num_classes: Any) -> tuple[np.ndarray, np.ndarray, int]:
    k = _check_num_classes(num_classes)
    t = _as_labels(y_true, "y_true", k)
    p = _as_labels(y_pred, "y_pred", k)
    if t.shape != p.shape:
        raise ShapeError(
            f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}; "
            "both must hold one entry per scored clip",
            "N",
            (t.shape[0], p.shape[0]),
        )
    return t, p, k


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Confusion matrix over the fixed label set ``0..K-1``.

    Args:
        y_true: (N,) integer ground-truth class indices.
        y_pred: (N,) integer predicted class indices.
        num_classes: K, the size of the label set; classes absent from the data still get a row/column.

    Returns:
        (K, K) int64 array; entry ``[i, j]`` counts samples of true class ``i`` predicted as ``j``.

    Raises:
        ShapeError: inputs are not 1-D or differ in length.
        DataError: non-integer labels, labels outside ``0..K-1`` or a bad ``num_classes``.
    """
    t, p, k = _pair(y_true, y_pred, num_classes)
    # one bincount over the flattened (truth, prediction) cell is exact and O(N)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _f1_from_cm(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def _recall_from_cm(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    return np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)


def per_class_f1(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """F1 of every class, ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``, 0 when the denominator is 0.

    Args:
        y_true: (N,) integer ground-truth class indices.
        y_pred: (N,) integer predicted class indices.
        num_classes: K.

    Returns:
        (K,) float64 array; a class absent from both inputs has F1 = 0 (it is never dropped).
    """
    return _f1_from_cm(confusion_matrix(y_true, y_pred, num_classes))


def single_label_scores(y_true: Any, y_pred: Any, num_classes: int) -> dict[str, float]:
    """Pooled ACC, UF1 and UAR over all K classes (MEGC 2019).

    Args:
        y_true: (N,) integer ground-truth class indices, N >= 1 (pooled over all test folds).
        y_pred: (N,) integer predicted class indices.
        num_classes: K.

    Returns:
        ``{"acc": sum_c TP_c / N, "uf1": mean_c F1_c, "uar": mean_c TP_c / N_c}`` where the means run
        over all K classes and the recall of a class absent from the truth is 0.

    Raises:
        DataError: no samples (every score would be undefined), or invalid labels.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    n = int(cm.sum())
    if n == 0:
        raise DataError("single_label_scores: got 0 samples; ACC/UF1/UAR are undefined. Pass the pooled test predictions.")
    return {
        "acc": float(np.trace(cm) / n),
        "uf1": float(_f1_from_cm(cm).mean()),
        "uar": float(_recall_from_cm(cm).mean()),
    }


def per_fold_means(y_true: Any, y_pred: Any, folds: Sequence[Hashable] | np.ndarray, num_classes: int) -> dict[str, float]:
    """Mean over folds of each fold's ACC / UF1 / UAR (the non-pooled variant).

    Each fold is scored with :func:`single_label_scores` over all K classes, so a class missing from
    a fold's test set contributes 0 to that fold's UF1/UAR. That is why this number is usually lower
    than the pooled one and is dominated by folds with few clips; report it labelled as per-fold.

    Args:
        y_true: (N,) integer ground-truth class indices.
        y_pred: (N,) integer predicted class indices.
        folds: (N,) fold name (any hashable: str, int) of every sample.
        num_classes: K.

    Returns:
        ``{"fold_mean_acc", "fold_mean_uf1", "fold_mean_uar"}``, each an unweighted mean over folds.

    Raises:
        ShapeError: ``folds`` is not 1-D or its length differs from the labels.
        DataError: no samples, or invalid labels.
    """
    t, p, k = _pair(y_true, y_pred, num_classes)
    f = np.asarray(folds, dtype=object)
    if f.ndim != 1 or f.shape[0] != t.shape[0]:
        raise ShapeError(
            f"folds must be a 1-D array with one fold name per sample ({t.shape[0]},), got shape {f.shape}",
            "N",
            tuple(f.shape),
        )
    if t.shape[0] == 0:
        raise DataError("per_fold_means: got 0 samples; there are no folds to average. Pass the pooled test predictions.")
    # group by a dict rather than np.unique: fold names may mix types, which numpy cannot sort
    groups: dict[Hashable, list[int]] = {}
    for i, name in enumerate(f.tolist()):
        groups.setdefault(name, []).append(i)
    totals = {"acc": 0.0, "uf1": 0.0, "uar": 0.0}
    for rows in groups.values():
        scores = single_label_scores(t[rows], p[rows], k)
        for key in totals:
            totals[key] += scores[key]
    return {f"fold_mean_{key}": value / len(groups) for key, value in totals.items()}
