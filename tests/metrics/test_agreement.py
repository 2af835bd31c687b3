"""Agreement statistics against statsmodels and scikit-learn (to 1e-12), a published example, and bad tables."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa, to_table

from mer4d.core.errors import DataError
from mer4d.metrics import agreement


def random_ratings(rng, items: int, raters: int, categories: int, agree: float) -> np.ndarray:
    """(items, raters) integer labels: a per-item true category kept with probability ``agree``."""
    truth = rng.integers(categories, size=items)
    noise = rng.integers(categories, size=(items, raters))
    return np.where(rng.random((items, raters)) < agree, truth[:, None], noise)


@pytest.mark.parametrize(("items", "raters", "categories", "agree"), [(30, 2, 2, 0.5), (50, 3, 4, 0.7), (200, 7, 8, 0.4), (17, 5, 3, 0.0), (40, 4, 6, 0.95)])
def test_fleiss_kappa_equals_statsmodels(items, raters, categories, agree):
    rng = np.random.default_rng(items + raters)
    table, _ = aggregate_raters(random_ratings(rng, items, raters, categories, agree))
    assert agreement.fleiss_kappa(table) == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)


def test_category_counts_equal_statsmodels_aggregate_raters_and_fix_the_columns():
    ratings = random_ratings(np.random.default_rng(3), 25, 4, 5, 0.6)
    counts, categories = agreement.category_counts(ratings)
    expected, values = aggregate_raters(ratings)
    assert categories == tuple(str(v) for v in values) and (counts == expected).all()
    # a category nobody used is a zero column and changes no kappa
    wider, names = agreement.category_counts(ratings, categories=[*categories, "unused"])
    assert names[-1] == "unused" and (wider[:, -1] == 0).all()
    assert agreement.fleiss_kappa(wider) == pytest.approx(agreement.fleiss_kappa(counts), abs=1e-12)
    with pytest.raises(DataError, match=r"\['4'\] are not among the categories"):
        agreement.category_counts(ratings, categories=["0", "1", "2", "3"])


def test_per_category_kappa_is_fleiss_kappa_of_the_category_against_the_rest():
    ratings = random_ratings(np.random.default_rng(8), 120, 6, 5, 0.55)
    counts, _ = agreement.category_counts(ratings)
    m = counts[0].sum()
    per = agreement.fleiss_kappa_per_category(counts)
    for j in range(counts.shape[1]):
        binary = np.stack([counts[:, j], m - counts[:, j]], axis=1)
        assert per[j] == pytest.approx(fleiss_kappa(binary, method="fleiss"), abs=1e-12)
    # a column nobody used has no kappa
    assert np.isnan(agreement.fleiss_kappa_per_category(np.hstack([counts, np.zeros((len(counts), 1), int)]))[-1])


def test_fleiss_1971_worked_example():
    # Fleiss (1971) as reproduced in most textbooks (Wikipedia "Fleiss' kappa"): 10 items, 14 raters,
    # 5 categories; P_bar = 0.378, P_e = 0.213, kappa = 0.210.
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    m, n = 14, len(table)
    p_bar = (((table**2).sum(1) - m) / (m * (m - 1))).mean()
    p_e = ((table.sum(0) / (n * m)) ** 2).sum()
    assert round(p_bar, 3) == 0.378 and round(p_e, 3) == 0.213
    assert agreement.fleiss_kappa(table) == pytest.approx((p_bar - p_e) / (1 - p_e), abs=1e-15)
    assert round(agreement.fleiss_kappa(table), 3) == 0.210


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_kappa_equals_statsmodels_and_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = np.array(["anger", "disgust", "happiness", "surprise"])
    both = random_ratings(rng, 80, 2, 4, 0.6)
    a, b = labels[both[:, 0]], labels[both[:, 1]]
    ours = agreement.cohen_kappa(a, b)
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    table, _ = to_table(both)
    assert ours == pytest.approx(cohens_kappa(table, return_results=False), abs=1e-12)


def test_two_rater_fleiss_is_scotts_pi_not_cohen():
    a = ["x"] * 8 + ["y"] * 2
    b = ["x"] * 5 + ["y"] * 5
    counts, _ = agreement.category_counts(np.stack([a, b], axis=1))
    shares = counts.sum(0) / 20
    p_o = np.mean(np.array(a) == np.array(b))
    scott = (p_o - (shares**2).sum()) / (1 - (shares**2).sum())
    assert agreement.fleiss_kappa(counts) == pytest.approx(scott, abs=1e-12)
    assert agreement.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert abs(agreement.fleiss_kappa(counts) - agreement.cohen_kappa(a, b)) > 0.01


@pytest.mark.parametrize(("table", "message"), [
    ([1, 2, 3], "2-D"),
    (np.zeros((0, 3)), "empty"),
    ([[2, 1], [3, 1]], "row 1 has 4 ratings but row 0 has 3"),
    ([[2, -1], [1, 0]], "item row 0, category column 1 holds -1;"),
    ([[1.5, 1.5], [2, 1]], "whole, non-negative"),
    ([[1, 0], [0, 1]], "at least 2 raters"),
    ([[3, 0], [3, 0]], "one category"),
    ([[np.nan, 3], [1, 2]], "NaN"),
])
def test_bad_tables_say_what_is_wrong(table, message):
    with pytest.raises(DataError, match=message):
        agreement.fleiss_kappa(table)


def test_bad_cohen_inputs():
    with pytest.raises(DataError, match="equal length"):
        agreement.cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(DataError, match="no items"):
        agreement.cohen_kappa([], [])
    with pytest.raises(DataError, match="one category"):
        agreement.cohen_kappa(["a", "a"], ["a", "a"])


@pytest.mark.parametrize(("kappa", "words"), [(-0.1, "poor"), (0.0, "poor"), (0.05, "slight"), (0.2, "slight"), (0.21, "fair"),
                                              (0.5, "moderate"), (0.61, "substantial"), (0.8, "substantial"), (0.81, "almost perfect"),
                                              (1.0, "almost perfect"), (float("nan"), "undefined")])
def test_landis_koch_words(kappa, words):
    assert agreement.interpret_kappa(kappa) == words
