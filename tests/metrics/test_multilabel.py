"""Multi-label metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mer4d.core.errors import DataError, ShapeError
from mer4d.metrics import binarize, multilabel_scores

TOL = 1e-12


def expected_scores(t: np.ndarray, p: np.ndarray, names: list[str]) -> dict[str, float]:
    out = {}
    for i, name in enumerate(names):
        out[f"f1_{name}"] = skm.f1_score(t[:, i], p[:, i], average="binary", pos_label=1, labels=[0, 1], zero_division=0)
        out[f"acc_{name}"] = skm.accuracy_score(t[:, i], p[:, i])
    out["macro_f1"] = float(np.mean([out[f"f1_{n}"] for n in names]))
    out["macro_acc"] = float(np.mean([out[f"acc_{n}"] for n in names]))
    out["subset_acc"] = skm.accuracy_score(t, p)  # exact match for multi-label indicator input
    return out


def assert_close(ours: dict[str, float], expected: dict[str, float]) -> None:
    assert set(ours) == set(expected)
    for key, value in expected.items():
        assert abs(ours[key] - value) <= TOL, (key, ours[key], value)


def test_random_cases_match_sklearn():
    rng = np.random.default_rng(5)
    for _ in range(80):
        k = int(rng.integers(1, 8))
        n = int(rng.integers(1, 201))
        names = [f"c{i}" for i in range(k)]
        t = (rng.random((n, k)) < rng.random(k)).astype(int)
        p = np.where(rng.random((n, k)) < rng.random(), t, (rng.random((n, k)) < 0.3).astype(int))
        assert_close(multilabel_scores(t, p, names), expected_scores(t, p, names))


@pytest.mark.parametrize(
    ("t", "p"),
    [
        ([[0, 0], [0, 0]], [[0, 0], [0, 0]]),  # no positives anywhere: F1 = 0, accuracy = 1
        ([[1, 0]], [[1, 0]]),  # N = 1, right
        ([[1, 0]], [[0, 1]]),  # N = 1, all wrong
        ([[1, 1], [1, 1]], [[1, 1], [1, 1]]),  # all positive, all right
        ([[1, 0], [0, 1]], [[0, 1], [1, 0]]),  # all wrong
    ],
)
def test_degenerate_cases_match_sklearn(t, p):
    t, p = np.array(t), np.array(p)
    assert_close(multilabel_scores(t, p, ["a", "b"]), expected_scores(t, p, ["a", "b"]))


def test_hand_computed_case():
    t = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    p = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0]])
    out = multilabel_scores(t, p, ["happy", "sad", "fear"])
    # happy: TP=1 (row 0) FN=1 (row 1) TN=1 (row 2) FP=1 (row 3) -> F1 = 2/4, accuracy = 2/4
    assert out["f1_happy"] == pytest.approx(0.5, abs=TOL)
    assert out["acc_happy"] == pytest.approx(0.5, abs=TOL)
    # sad: TP=2 FP=0 FN=0 -> 1.0
    assert out["f1_sad"] == pytest.approx(1.0, abs=TOL)
    assert out["acc_sad"] == pytest.approx(1.0, abs=TOL)
    # fear: TP=0 FP=1 FN=0 -> 0; accuracy 3/4
    assert out["f1_fear"] == 0.0
    assert out["acc_fear"] == pytest.approx(0.75, abs=TOL)
    assert out["macro_f1"] == pytest.approx(0.5, abs=TOL)
    assert out["macro_acc"] == pytest.approx(2.25 / 3, abs=TOL)
    assert out["subset_acc"] == pytest.approx(0.25, abs=TOL)  # only row 0 is exactly right
    assert all(type(v) is float for v in out.values())


def test_bool_and_float_indicators_are_accepted():
    t = np.array([[True, False], [False, True]])
    p = np.array([[1.0, 0.0], [1.0, 1.0]])
    out = multilabel_scores(t, p, ["a", "b"])
    assert out["acc_a"] == pytest.approx(0.5)
    assert out["f1_b"] == pytest.approx(1.0)


def test_binarize():
    scores = np.array([[0.2, 0.5, 0.51], [0.9, -1.0, 0.0]])
    np.testing.assert_array_equal(binarize(scores), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(binarize(scores, threshold=0.0), [[1, 1, 1], [1, 0, 0]])
    assert binarize(scores).dtype == np.int64


def test_binarize_rejects_nan_and_text():
    with pytest.raises(DataError, match=r"NaN \(first at positions \[\[0, 1\]\]\)"):
        binarize(np.array([[0.1, np.nan]]))
    with pytest.raises(DataError, match="expected numeric scores"):
        binarize(np.array(["a"]))


@pytest.mark.parametrize(
    ("t", "p", "names", "error", "match"),
    [
        ([[0, 1]], [[0, 1]], ["a"], ShapeError, r"2 columns but 1 class names"),
        ([[0, 1]], [[0, 1], [1, 1]], ["a", "b"], ShapeError, r"same shape \(N, K\), got \(1, 2\) and \(2, 2\)"),
        ([0, 1], [0, 1], ["a", "b"], ShapeError, r"y_true: expected a 2-D 0/1 array"),
        ([[0, 2]], [[0, 1]], ["a", "b"], DataError, r"y_true: expected only 0 and 1, found \[2\].*binarize"),
        ([[0, 1]], [[0.7, 1]], ["a", "b"], DataError, r"y_pred: expected only 0 and 1, found \[0\.7\]"),
        ([[0, 1]], [[0, 1]], ["a", "a"], DataError, r"distinct .* duplicated: \['a'\]"),
        (np.zeros((0, 2)), np.zeros((0, 2)), ["a", "b"], DataError, r"0 samples"),
        (np.zeros((3, 0)), np.zeros((3, 0)), [], DataError, r"class_names is empty"),
    ],
)
def test_invalid_inputs_raise_clear_errors(t, p, names, error, match):
    with pytest.raises(error, match=match):
        multilabel_scores(t, p, names)
