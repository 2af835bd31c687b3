"""Agreement between annotators: Fleiss' kappa (m raters), Cohen's kappa (two raters), per-category kappa.

Formulas (algorithms.md §12; Fleiss 1971, Cohen 1960). For N items, k categories and m raters per
item, let ``n_ij`` be the number of raters who put item i in category j (each row sums to m):

* ``p_j = sum_i n_ij / (N m)``, the share of all ratings in category j;
* ``P_i = (sum_j n_ij^2 - m) / (m (m - 1))``, the share of agreeing rater pairs on item i;
* ``P_bar = mean_i P_i``, ``P_e = sum_j p_j^2`` (chance agreement from the pooled shares);
* Fleiss' ``kappa = (P_bar - P_e) / (1 - P_e)``.

Per category (Fleiss 1971, eq. 10), the same kappa of the table collapsed to "j" versus "not j":
``kappa_j = 1 - sum_i n_ij (m - n_ij) / (N m (m - 1) p_j (1 - p_j))``.

Cohen's kappa for two raters uses each rater's own marginal shares for chance agreement:
``kappa = (p_o - p_e) / (1 - p_e)``, ``p_o`` = share of items both rate the same,
``p_e = sum_j a_j b_j``. With two raters Fleiss' kappa is Scott's pi (pooled shares), not Cohen's.

numpy only; the tests hold these to statsmodels' ``fleiss_kappa`` and ``cohens_kappa`` (and
scikit-learn's ``cohen_kappa_score``) to 1e-12.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mer4d.core.errors import DataError

# Landis & Koch (1977), as the DFME paper prints it (its Table V): upper bound -> words.
LANDIS_KOCH = ((0.0, "poor"), (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"), (1.0, "almost perfect"))


def _count_table(table, where: str) -> np.ndarray:
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2:
        raise DataError(f"{where}: expected an items x categories table of counts (2-D), got shape {counts.shape}")
    if counts.shape[0] < 1 or counts.shape[1] < 1:
        raise DataError(f"{where}: the table is empty (shape {counts.shape}); it needs at least one item and one category")
    if not np.isfinite(counts).all():
        rows = sorted({int(i) for i in np.argwhere(~np.isfinite(counts))[:, 0]})
        raise DataError(f"{where}: NaN or infinite counts in item row(s) {rows[:5]}; every cell must be a count of raters")
    bad = np.argwhere((counts < 0) | (counts != np.round(counts)))
    if len(bad):
        i, j = (int(v) for v in bad[0])
        raise DataError(f"{where}: item row {i}, category column {j} holds {float(counts[i, j]):g}; expected a whole, non-negative number of raters")
    totals = counts.sum(axis=1)
    if (totals != totals[0]).any():
        i = int(np.flatnonzero(totals != totals[0])[0])
        raise DataError(f"{where}: item row {i} has {int(totals[i])} ratings but row 0 has {int(totals[0])}; Fleiss' kappa needs the "
                        "same number of raters for every item (drop the item or fill its missing ratings)")
    if totals[0] < 2:
        raise DataError(f"{where}: each item has {int(totals[0])} rating(s); agreement needs at least 2 raters per item")
    return counts


def _chance_guard(p_e: float, where: str) -> None:
    if p_e >= 1.0 - 1e-15:
        raise DataError(f"{where}: every rating is in one category, so chance agreement is 1 and kappa is undefined (0/0); "
                        "kappa needs ratings in at least two categories")


def fleiss_kappa(table) -> float:
    """Fleiss' kappa of an items x categories table of rater counts (each row summing to the m raters).

    Raises:
        DataError: not 2-D, empty, negative or fractional counts, rows with different totals, fewer
            than 2 raters, or all ratings in one category (kappa undefined).
    """
    counts = _count_table(table, "fleiss_kappa")
    n_items, m = counts.shape[0], counts[0].sum()
    p = counts.sum(axis=0) / (n_items * m)
    agreement = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_e = float((p**2).sum())
    _chance_guard(p_e, "fleiss_kappa")
    return float((agreement.mean() - p_e) / (1.0 - p_e))


def fleiss_kappa_per_category(table) -> np.ndarray:
    """Fleiss' kappa_j of each category (column); NaN for a category no rater used (or every rater always used).

    Equal to :func:`fleiss_kappa` of the two-column table ``[n_ij, m - n_ij]``.
    """
    counts = _count_table(table, "fleiss_kappa_per_category")
    n_items, m = counts.shape[0], counts[0].sum()
    p = counts.sum(axis=0) / (n_items * m)
    disagreement = (counts * (m - counts)).sum(axis=0)
    denominator = n_items * m * (m - 1) * p * (1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 1.0 - disagreement / np.where(denominator > 0, denominator, 1.0), np.nan)


def category_counts(ratings, categories: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Items x raters labels -> (items x categories counts, categories).

    ``categories`` fixes the columns and their order (a category nobody used is a zero column,
    which changes no kappa); by default the sorted labels that occur. A label outside a given
    ``categories`` is an error naming it.
    """
    labels = np.asarray(ratings, dtype=object)
    if labels.ndim != 2 or labels.size == 0:
        raise DataError(f"category_counts: expected a non-empty items x raters array of labels, got shape {labels.shape}")
    text = np.vectorize(str, otypes=[object])(labels)
    found = sorted(set(text.ravel().tolist()))
    chosen = tuple(found) if categories is None else tuple(str(c) for c in categories)
    stray = sorted(set(found) - set(chosen))
    if stray:
        raise DataError(f"category_counts: label(s) {stray} are not among the categories {list(chosen)}")
    column = {c: j for j, c in enumerate(chosen)}
    codes = np.vectorize(column.__getitem__, otypes=[np.int64])(text)
    counts = np.zeros((labels.shape[0], len(chosen)), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(labels.shape[0]), labels.shape[1]), codes.ravel()), 1)
    return counts, chosen


def cohen_kappa(rater_a, rater_b) -> float:
    """Cohen's (unweighted) kappa of two raters' labels of the same items, in the same order.

    Raises:
        DataError: different lengths, no items, or both raters using one and the same category only.
    """
    a = np.asarray(rater_a, dtype=object).astype(str)
    b = np.asarray(rater_b, dtype=object).astype(str)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise DataError(f"cohen_kappa: expected two 1-D label sequences of equal length, got shapes {a.shape} and {b.shape}")
    if len(a) == 0:
        raise DataError("cohen_kappa: no items to compare")
    categories = sorted(set(a) | set(b))
    share_a = np.array([(a == c).mean() for c in categories])
    share_b = np.array([(b == c).mean() for c in categories])
    p_o = float((a == b).mean())
    p_e = float((share_a * share_b).sum())
    _chance_guard(p_e, "cohen_kappa")
    return (p_o - p_e) / (1.0 - p_e)


def interpret_kappa(kappa: float) -> str:
    """The Landis & Koch (1977) words for a kappa value (DFME Table V): ``0.65 -> "substantial"``."""
    if not np.isfinite(kappa):
        return "undefined"
    if kappa <= 0.0:
        return "poor"
    for bound, words in LANDIS_KOCH[1:]:
        if kappa <= bound + 1e-12:
            return words
    return LANDIS_KOCH[-1][1]
