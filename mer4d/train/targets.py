"""Index labels -> training targets, and model scores -> the predictions table that is logged.

The predictions table is the unit of record: one row per test clip with ``clip_id, subject,
fold, truth, prediction`` and ``score_<class>`` columns (multi-label tasks add ``true_<class>``
and ``pred_<class>`` 0/1 columns). Pooled metrics are computed from it, it is what the MLflow run
stores, and a resumed run reads finished folds back from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.metrics import binarize, confusion_matrix, multilabel_scores, per_class_f1, per_fold_means, single_label_scores

MULTILABEL_TASKS = ("emotion_multilabel", "au")
LABEL_COLUMN = {"emotion": "emotion", "emotion_multilabel": "emotions", "au": "aus"}


AU_MIN_SAMPLES = 10
"""AU detection classes: AUs with more than this many clips (the 4DME paper's rule)."""


def detection_au(code: str) -> str:
    """The AU a detector is asked about: sides merged (L12, R12 -> AU12), as in 4DME's AU tables."""
    from mer4d.labels.aus import au_number

    return f"AU{au_number(code)}"


def au_classes(index: pd.DataFrame, min_samples: int = AU_MIN_SAMPLES) -> tuple[str, ...]:
    """AUs (sides merged) moving in more than ``min_samples`` original clips, by AU number.

    Static ``(k)`` AUs are not targets: they are held through the clip and do not move.
    """
    originals = index[index["augmented_from"] < 0] if "augmented_from" in index else index
    counts = pd.Series([a for aus in originals["aus"] for a in sorted({detection_au(c) for c in aus})]).value_counts()
    chosen = sorted((a for a, n in counts.items() if n > min_samples), key=lambda a: int(a[2:]))
    if not chosen:
        raise DataError(f"AU detection: no AU occurs in more than {min_samples} clips (counts: {counts.to_dict()}); lower dataset.au_min_clips or set dataset.classes to the AUs to detect")
    return tuple(chosen)


def encode_targets(index: pd.DataFrame, task: str, classes: tuple[str, ...]) -> np.ndarray:
    """Class ids (N,) int64 for single-label tasks, multi-hot (N, K) float32 for multi-label ones.

    Raises:
        DataError: naming the clip and the label that is not in ``classes``.
    """
    column = LABEL_COLUMN[task]
    if column not in index.columns:
        raise DataError(f"task '{task}' needs the Index column '{column}', which this dataset does not provide (columns: {list(index.columns)})")
    lookup = {c: k for k, c in enumerate(classes)}
    if task not in MULTILABEL_TASKS:
        bad = [(cid, lab) for cid, lab in zip(index["clip_id"], index[column], strict=True) if lab not in lookup]
        if bad:
            raise DataError(f"labels outside the class set {list(classes)}: {bad[:5]}; set dataset.classes or fix the label file")
        return np.array([lookup[lab] for lab in index[column]], dtype=np.int64)
    out = np.zeros((len(index), len(classes)), dtype=np.float32)
    for row, (cid, labels) in enumerate(zip(index["clip_id"], index[column], strict=True)):
        if task == "au":  # sides merged; AUs outside the detected set are simply not targets
            labels = [a for a in {detection_au(c) for c in labels} if a in lookup]
        for lab in labels:
            if lab not in lookup:
                raise DataError(f"clip {cid}: label '{lab}' is not in the class set {list(classes)}")
            out[row, lookup[lab]] = 1.0
    return out


def prediction_table(index: pd.DataFrame, fold: str, targets: np.ndarray, scores: np.ndarray, classes: tuple[str, ...], task: str) -> pd.DataFrame:
    """Predictions of one fold. ``index`` holds the test rows; ``scores`` is (N, K) probabilities."""
    table = pd.DataFrame({"clip_id": index["clip_id"].to_numpy(), "subject": index["subject"].to_numpy(), "fold": fold})
    if index.attrs.get("composite"):
        table["dataset"] = index["dataset"].to_numpy()  # composite data: the per-database rows of the MEGC2019 table
    names = np.array(classes, dtype=object)
    if task in MULTILABEL_TASKS:
        # Every 4DME clip has at least one emotion (Others when nothing else); AU sets can be empty.
        predicted = binarize(scores, at_least_one=task == "emotion_multilabel").astype(bool)
        table["truth"] = ["+".join(names[row > 0.5]) for row in targets]
        table["prediction"] = ["+".join(names[row]) for row in predicted]
        for k, c in enumerate(classes):
            table[f"true_{c}"] = targets[:, k].astype(int)
            table[f"pred_{c}"] = predicted[:, k].astype(int)
    else:
        table["truth"] = names[targets]
        table["prediction"] = names[scores.argmax(axis=1)]
    for k, c in enumerate(classes):
        table[f"score_{c}"] = scores[:, k]
    return table


def table_metrics(table: pd.DataFrame, classes: tuple[str, ...], task: str) -> dict[str, float]:
    """Pooled metrics of a predictions table (per-fold means too when it spans several folds)."""
    if task in MULTILABEL_TASKS:
        truth = table[[f"true_{c}" for c in classes]].to_numpy()
        pred = table[[f"pred_{c}" for c in classes]].to_numpy()
        return multilabel_scores(truth, pred, list(classes))
    lookup = {c: k for k, c in enumerate(classes)}
    y_true = table["truth"].map(lookup).to_numpy()
    y_pred = table["prediction"].map(lookup).to_numpy()
    out = single_label_scores(y_true, y_pred, len(classes))
    out.update({f"f1_{c}": float(v) for c, v in zip(classes, per_class_f1(y_true, y_pred, len(classes)), strict=True)})
    if table["fold"].nunique() > 1:
        out.update(per_fold_means(y_true, y_pred, table["fold"].to_numpy(), len(classes)))
    if "dataset" in table:  # composite data (MEGC2019): each source database scored on its own clips of the same run
        for name, rows in table.groupby("dataset", sort=True):
            part = single_label_scores(y_true[rows.index], y_pred[rows.index], len(classes))
            out.update({f"{name}/{k}": v for k, v in part.items()})
    return out


def table_confusion(table: pd.DataFrame, classes: tuple[str, ...]) -> np.ndarray:
    """(K, K) confusion matrix of a single-label predictions table, rows = truth."""
    lookup = {c: k for k, c in enumerate(classes)}
    return confusion_matrix(table["truth"].map(lookup).to_numpy(), table["prediction"].map(lookup).to_numpy(), len(classes))
