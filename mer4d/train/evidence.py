"""How sure a result is: subject-bootstrap intervals of prediction tables, the mean and sd over
repeated seeds, and the shuffled-label control of the training folds.

The statistics live in :mod:`mer4d.metrics.bootstrap`; this module turns prediction tables
(``targets.prediction_table``) into the per-subject counts it needs. The counts give exactly the
pooled metrics of :func:`~mer4d.train.targets.table_metrics` (``tests/metrics/test_bootstrap.py``
checks the replicates against ``table_metrics`` on each resampled table).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.metrics import bootstrap
from mer4d.train.targets import MULTILABEL_TASKS

HEADLINE = {"single": ("acc", "uf1", "uar"), "multi": ("macro_f1", "macro_acc", "subset_acc")}
"""The pooled metrics that get a bootstrap interval (``M_ci_low`` / ``M_ci_high``)."""


def headline_metrics(task: str) -> tuple[str, ...]:
    return HEADLINE["multi" if task in MULTILABEL_TASKS else "single"]


def table_counts(tables: Sequence[pd.DataFrame], classes: tuple[str, ...], task: str, by: str = "subject") -> tuple[list[np.ndarray], bootstrap.Scorer]:
    """One (S, D) count matrix per table over the clusters (``by``: ``subject`` or ``clip_id``) of all
    tables, and the scorer turning summed counts into the task's pooled metrics."""
    names = sorted({str(v) for t in tables for v in t[by]})
    lookup = {v: i for i, v in enumerate(names)}
    out = []
    k = len(classes)
    for table in tables:
        codes = np.array([lookup[str(v)] for v in table[by]], dtype=np.int64)
        if task in MULTILABEL_TASKS:
            truth = table[[f"true_{c}" for c in classes]].to_numpy()
            pred = table[[f"pred_{c}" for c in classes]].to_numpy()
            out.append(bootstrap.multilabel_counts(truth, pred, codes, len(names)))
        else:
            label = {c: i for i, c in enumerate(classes)}
            out.append(bootstrap.single_label_counts(table["truth"].map(label).to_numpy(), table["prediction"].map(label).to_numpy(), k, codes, len(names)))
    if task in MULTILABEL_TASKS:
        return out, lambda totals: bootstrap.multilabel_from_counts(totals, k)
    return out, lambda totals: bootstrap.single_label_from_counts(totals, k)


def interval_metrics(tables: Sequence[pd.DataFrame], classes: tuple[str, ...], task: str, replicates: int = bootstrap.REPLICATES,
                     seed: int = 0, by: str = "subject") -> dict[str, float]:
    """``M_ci_low`` / ``M_ci_high`` (95 %, subject bootstrap, mean over the tables = seeds) of each headline metric M."""
    counts, score = table_counts(tables, classes, task, by)
    found = bootstrap.intervals(counts, score, replicates, seed)
    out: dict[str, float] = {}
    for name in headline_metrics(task):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = found[name]
    return out


def is_interval_key(key: str) -> bool:
    return key.endswith(("_ci_low", "_ci_high"))


def seed_summary(per_seed: Sequence[dict[str, float]]) -> dict[str, float]:
    """For every pooled metric M of the seeds: ``M`` and ``M_mean`` (mean over seeds), ``M_sd`` (sample
    sd, ddof=1; only with 2 seeds or more), and ``n_seeds``. Intervals are not averaged (see :func:`interval_metrics`)."""
    if not per_seed:
        raise DataError("seed_summary: no seeds")
    keys = [k for k in per_seed[0] if not is_interval_key(k) and k not in ("epochs_run", "best_epoch")]
    out: dict[str, float] = {"n_seeds": float(len(per_seed))}
    for key in keys:
        values = np.array([m[key] for m in per_seed if key in m], dtype=np.float64)
        if len(values) != len(per_seed):
            continue
        out[key] = out[f"{key}_mean"] = float(values.mean())
        if len(values) > 1:
            out[f"{key}_sd"] = float(values.std(ddof=1))
    return out


def shuffled_rows(positions: np.ndarray, source: np.ndarray, seed: int) -> np.ndarray:
    """Row map for the shuffled-label control: ``targets[rows]`` gives the training clips at
    ``positions`` the labels of a seeded permutation of those clips (original clips permuted among
    themselves, an augmented copy takes its original's new label); every other row maps to itself,
    so the test clips keep their labels. Multi-label targets move as whole rows."""
    rows = np.arange(len(source))
    positions = np.asarray(positions, dtype=np.int64)
    originals = positions[source[positions] < 0]
    rows[originals] = originals[np.random.default_rng([seed, 0x5EED]).permutation(len(originals))]
    copies = positions[source[positions] >= 0]
    rows[copies] = rows[source[copies]]
    return rows
