"""Cluster (subject) bootstrap intervals for pooled scores, vectorised through sufficient counts.

Clips of one subject are not independent (same face, same recording session, often the same
label), so an interval that resamples clips is too narrow. Here each bootstrap replicate draws
the *clusters* (subjects) with replacement and keeps all their clips; a cluster drawn twice
counts twice. Every pooled score used here (ACC / UF1 / UAR, multi-label macro F1 / macro acc /
subset acc) is a function of counts that add over clips (a confusion matrix, per-class
TP / FP / FN / TN), so a replicate is ``draw counts (B, S) @ per-cluster counts (S, D)``: one
matrix product for all replicates instead of B re-scorings. ``tests/metrics/test_bootstrap.py``
checks the result against a naive loop that rebuilds each resampled clip set and scores it with
:func:`~mer4d.metrics.single_label_scores` / :func:`~mer4d.metrics.multilabel_scores`.

Several seeds of one protocol (repeats) share the draws: replicate b draws the same subjects for
every seed, scores each seed on its own predictions of those clips and averages over seeds, so
the interval covers subject sampling *and* the seed-to-seed spread of the mean.

The interval is the percentile interval of the replicates (2.5 % and 97.5 % for 95 %).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mer4d.core.errors import DataError

Scorer = Callable[[np.ndarray], dict[str, np.ndarray]]

REPLICATES = 2000
LEVEL = 0.95


def cluster_codes(clusters: Sequence | np.ndarray) -> tuple[np.ndarray, int]:
    """``(codes (N,) in 0..S-1, S)`` for cluster labels of any hashable type (subject ids)."""
    values = np.asarray([str(c) for c in clusters], dtype=object)
    if values.size == 0:
        raise DataError("bootstrap: no clips to resample")
    _, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1


def cluster_draws(n_clusters: int, replicates: int = REPLICATES, seed: int = 0) -> np.ndarray:
    """(B, S) cluster indices drawn with replacement, one row per replicate (seeded)."""
    return np.random.default_rng(seed).integers(0, n_clusters, size=(replicates, n_clusters))


def draw_counts(draws: np.ndarray, n_clusters: int) -> np.ndarray:
    """(B, S) how many times each cluster was drawn in each replicate."""
    b = draws.shape[0]
    flat = (draws + n_clusters * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n_clusters).reshape(b, n_clusters).astype(np.float64)


# --- sufficient counts per cluster, and scores from summed counts ---


def single_label_counts(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(S, K*K) confusion counts of each cluster (row = truth * K + prediction)."""
    k = num_classes
    cell = np.asarray(y_true, dtype=np.int64) * k + np.asarray(y_pred, dtype=np.int64)
    flat = codes * (k * k) + cell
    return np.bincount(flat, minlength=n_clusters * k * k).reshape(n_clusters, k * k).astype(np.float64)


def single_label_from_counts(totals: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """ACC / UF1 / UAR of summed confusion counts (..., K*K), the definitions of ``single_label_scores``."""
    k = num_classes
    cm = totals.reshape(*totals.shape[:-1], k, k)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    n = cm.sum(axis=(-2, -1))
    denom = support + predicted  # = 2 TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        recall = np.where(support > 0, tp / np.where(support > 0, support, 1), 0.0)
        acc = np.where(n > 0, tp.sum(axis=-1) / np.where(n > 0, n, 1), np.nan)
    return {"acc": acc, "uf1": f1.mean(axis=-1), "uar": recall.mean(axis=-1)}


def multilabel_counts(y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(S, 4K + 2) per cluster: TP, FP, FN, TN of each class, exact-match rows, rows."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    per_clip = np.concatenate([t & p, (1 - t) & p, t & (1 - p), (1 - t) & (1 - p), (t == p).all(axis=1, keepdims=True), np.ones((len(t), 1), np.int64)], axis=1)
    out = np.zeros((n_clusters, per_clip.shape[1]))
    np.add.at(out, codes, per_clip)
    return out


def multilabel_from_counts(totals: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """macro F1 / macro acc / subset acc of summed counts (..., 4K + 2), the definitions of ``multilabel_scores``."""
    k = num_classes
    tp, fp, fn, tn = (totals[..., i * k : (i + 1) * k] for i in range(4))
    exact, n = totals[..., 4 * k], totals[..., 4 * k + 1]
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        safe_n = np.where(n > 0, n, 1)
        acc = (tp + tn) / safe_n[..., None]
        subset = np.where(n > 0, exact / safe_n, np.nan)
    return {"macro_f1": f1.mean(axis=-1), "macro_acc": acc.mean(axis=-1), "subset_acc": subset}


# --- replicates and intervals ---


def replicates(per_seed_counts: Sequence[np.ndarray], score: Scorer, draws: np.ndarray) -> dict[str, np.ndarray]:
    """(B,) replicate scores, each the mean over seeds of that seed's score on the drawn clusters.

    ``per_seed_counts``: one (S, D) count matrix per seed, all over the same S clusters.
    """
    if not per_seed_counts:
        raise DataError("bootstrap: no predictions given")
    n_clusters = per_seed_counts[0].shape[0]
    weights = draw_counts(draws, n_clusters)
    total: dict[str, np.ndarray] = {}
    for counts in per_seed_counts:
        if counts.shape[0] != n_clusters:
            raise DataError(f"bootstrap: every seed must be counted over the same {n_clusters} clusters, got {counts.shape[0]}")
        for name, values in score(weights @ counts).items():
            total[name] = total.get(name, 0.0) + values
    return {name: values / len(per_seed_counts) for name, values in total.items()}


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of replicate values (NaN replicates ignored)."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def intervals(per_seed_counts: Sequence[np.ndarray], score: Scorer, replicate_count: int = REPLICATES, seed: int = 0,
              level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """``{score name: (low, high)}``: the cluster-bootstrap interval of every score ``score`` gives."""
    draws = cluster_draws(per_seed_counts[0].shape[0], replicate_count, seed)
    return {name: percentile_interval(values, level) for name, values in replicates(per_seed_counts, score, draws).items()}
