"""Single-label metrics against scikit-learn, hand-computed values and degenerate inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mer4d.core.errors import DataError, ShapeError
from mer4d.metrics import confusion_matrix, per_class_f1, per_fold_means, single_label_scores

TOL = 1e-12


def sklearn_scores(t: np.ndarray, p: np.ndarray, k: int) -> dict[str, float]:
    labels = list(range(k))
    return {
        "acc": skm.accuracy_score(t, p),
        "uf1": skm.f1_score(t, p, average="macro", labels=labels, zero_division=0),
        "uar": skm.recall_score(t, p, average="macro", labels=labels, zero_division=0),
    }


def assert_matches_sklearn(t: np.ndarray, p: np.ndarray, k: int) -> None:
    labels = list(range(k))
    np.testing.assert_array_equal(confusion_matrix(t, p, k), skm.confusion_matrix(t, p, labels=labels))
    expected_f1 = skm.f1_score(t, p, average=None, labels=labels, zero_division=0)
    np.testing.assert_allclose(per_class_f1(t, p, k), expected_f1, rtol=0, atol=TOL)
    ours = single_label_scores(t, p, k)
    for key, value in sklearn_scores(t, p, k).items():
        assert abs(ours[key] - value) <= TOL, (key, ours[key], value)


def test_random_cases_match_sklearn():
    rng = np.random.default_rng(1234)
    for _ in range(150):
        k = int(rng.integers(2, 8))
        n = int(rng.integers(1, 201))
        t = rng.integers(0, k, size=n)
        # mix of noisy and mostly-correct predictors so both regimes are exercised
        p = np.where(rng.random(n) < rng.random(), t, rng.integers(0, k, size=n))
        assert_matches_sklearn(t, p, k)


def test_random_cases_with_skewed_labels_match_sklearn():
    rng = np.random.default_rng(99)
    for _ in range(100):
        k = int(rng.integers(2, 8))
        n = int(rng.integers(1, 60))
        probs = rng.dirichlet(np.full(k, 0.3))  # often leaves classes absent
        t = rng.choice(k, size=n, p=probs)
        p = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 0.3)))
        assert_matches_sklearn(t, p, k)


@pytest.mark.parametrize(
    ("t", "p", "k"),
    [
        ([0, 1, 0, 1], [0, 1, 1, 1], 3),  # class 2 absent from truth and prediction
        ([0, 0, 0], [0, 0, 0], 1),  # single class
        ([0, 0, 0], [0, 0, 0], 4),  # single present class among four
        ([0, 1, 2, 0], [1, 2, 0, 2], 3),  # all wrong
        ([0, 1, 2, 2], [0, 1, 2, 2], 3),  # all right
        ([2], [2], 5),  # N = 1, right
        ([2], [0], 5),  # N = 1, wrong
        ([1, 1], [0, 0], 2),  # class 0 only predicted, never true
    ],
)
@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
def test_degenerate_cases_match_sklearn(t, p, k):
    assert_matches_sklearn(np.array(t), np.array(p), k)


def test_absent_class_counts_as_zero_and_is_not_dropped():
    scores = single_label_scores([0, 1], [0, 1], 3)
    assert scores["acc"] == 1.0
    assert scores["uf1"] == pytest.approx(2 / 3, abs=TOL)
    assert scores["uar"] == pytest.approx(2 / 3, abs=TOL)
    np.testing.assert_array_equal(per_class_f1([0, 1], [0, 1], 3), [1.0, 1.0, 0.0])


def test_hand_computed_case():
    t = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 0, 2]
    cm = confusion_matrix(t, p, 4)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    assert cm.dtype == np.int64
    # TP = 1,2,1,0  FP = 1,1,0,0  FN = 1,0,1,0
    np.testing.assert_allclose(per_class_f1(t, p, 4), [0.5, 0.8, 2 / 3, 0.0], atol=TOL)
    scores = single_label_scores(t, p, 4)
    assert scores["acc"] == pytest.approx(4 / 6, abs=TOL)
    assert scores["uf1"] == pytest.approx((0.5 + 0.8 + 2 / 3 + 0.0) / 4, abs=TOL)
    assert scores["uar"] == pytest.approx((0.5 + 1.0 + 0.5 + 0.0) / 4, abs=TOL)
    assert set(scores) == {"acc", "uf1", "uar"}
    assert all(type(v) is float for v in scores.values())


def test_confusion_matrix_of_empty_input_is_zero():
    np.testing.assert_array_equal(confusion_matrix([], [], 3), np.zeros((3, 3), dtype=np.int64))


def naive_fold_means(t, p, folds, k):
    per = [sklearn_scores(t[folds == f], p[folds == f], k) for f in np.unique(folds)]
    return {f"fold_mean_{key}": float(np.mean([s[key] for s in per])) for key in ("acc", "uf1", "uar")}


def test_per_fold_means_match_naive_loop():
    rng = np.random.default_rng(7)
    for _ in range(30):
        k = int(rng.integers(2, 8))
        n = int(rng.integers(1, 150))
        t = rng.integers(0, k, size=n)
        p = np.where(rng.random(n) < 0.5, t, rng.integers(0, k, size=n))
        folds = np.array([f"s{i}" for i in rng.integers(0, int(rng.integers(1, 12)), size=n)])
        ours = per_fold_means(t, p, folds, k)
        expected = naive_fold_means(t, p, folds, k)
        assert set(ours) == set(expected)
        for key in expected:
            assert abs(ours[key] - expected[key]) <= TOL


def test_per_fold_means_differs_from_pooled():
    t = np.array([0, 1, 0, 1])
    p = np.array([0, 1, 0, 0])
    folds = np.array(["a", "a", "b", "b"])
    pooled = single_label_scores(t, p, 2)
    per_fold = per_fold_means(t, p, folds, 2)
    assert per_fold["fold_mean_acc"] == pytest.approx(pooled["acc"])
    assert per_fold["fold_mean_uf1"] != pytest.approx(pooled["uf1"])


def test_per_fold_means_accepts_integer_and_mixed_fold_names():
    out = per_fold_means([0, 1, 1], [0, 1, 0], [1, "x", "x"], 2)
    assert out["fold_mean_acc"] == pytest.approx((1.0 + 0.5) / 2)


@pytest.mark.parametrize(
    ("t", "p", "k", "error", "match"),
    [
        ([0, 3], [0, 1], 3, DataError, r"y_true: class indices must lie in 0\.\.2 \(num_classes=3\), found \[3\]"),
        ([0, 1], [-1, 1], 3, DataError, r"y_pred: .*found \[-1\]"),
        ([0.5, 1.0], [0, 1], 3, DataError, r"y_true: expected integer class indices .*dtype float64"),
        (["a", "b"], [0, 1], 3, DataError, r"y_true: expected integer class indices"),
        ([0, 1, 2], [0, 1], 3, ShapeError, r"same length, got 3 and 2"),
        ([[0, 1]], [[0, 1]], 3, ShapeError, r"y_true: expected a 1-D array .* got shape \(1, 2\)"),
        ([0], [0], 0, DataError, r"num_classes must be a positive integer .* got 0"),
        ([0], [0], 2.0, DataError, r"num_classes must be a positive integer"),
        ([0], [0], True, DataError, r"num_classes must be a positive integer"),
    ],
)
def test_invalid_inputs_raise_clear_errors(t, p, k, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(t, p, k)


def test_scores_of_no_samples_raise():
    with pytest.raises(DataError, match="0 samples"):
        single_label_scores([], [], 3)
    with pytest.raises(DataError, match="0 samples"):
        per_fold_means([], [], [], 3)


def test_per_fold_means_length_mismatch():
    with pytest.raises(ShapeError, match=r"one fold name per sample \(3,\), got shape \(2,\)"):
        per_fold_means([0, 1, 1], [0, 1, 1], ["a", "b"], 2)


def test_errors_are_also_value_errors():
    with pytest.raises(ValueError):
        single_label_scores([0, 5], [0, 1], 2)
