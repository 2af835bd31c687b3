"""The subject sign-flip permutation test: equals a naive loop; identical runs give p=1; a clear difference a small p."""

import numpy as np
import pytest

from mer4d.metrics.paired import cluster_signs, paired_permutation_test


def test_equals_a_naive_loop_over_permutations_and_clips():
    rng = np.random.default_rng(2)
    clusters = np.repeat([f"s{i}" for i in range(7)], 4)
    diff = rng.choice([-1.0, 0.0, 1.0], size=len(clusters), p=[0.2, 0.5, 0.3])
    result = paired_permutation_test(diff, clusters, permutations=300, seed=5)
    signs = cluster_signs(7, 300, seed=5)
    names = sorted(set(clusters))
    observed = diff.mean()
    extreme = 0
    for row in signs:
        flipped = [d * row[names.index(c)] for d, c in zip(diff, clusters, strict=True)]
        extreme += abs(np.mean(flipped)) >= abs(observed) - 1e-12
    assert result.observed == pytest.approx(observed)
    assert result.p_value == pytest.approx((1 + extreme) / 301)
    assert (result.clips, result.clusters) == (28, 7)


def test_identical_runs_give_p_one_and_no_difference():
    result = paired_permutation_test(np.zeros(40), np.repeat(np.arange(10), 4))
    assert result.observed == 0 and result.p_value == 1.0


def test_a_clear_difference_gives_a_small_p():
    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(30), 8)
    a = (rng.random(len(clusters)) < 0.9).astype(float)
    b = (rng.random(len(clusters)) < 0.3).astype(float)
    result = paired_permutation_test(a - b, clusters)
    assert result.observed > 0.4 and result.p_value < 0.001
    assert paired_permutation_test(a - b, clusters).p_value == result.p_value  # seeded


def _macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred, average="macro", zero_division=0))


def test_the_metric_test_equals_a_naive_loop_that_swaps_subjects_and_rescores():
    # Two seeds of multi-label predictions of A and B on 6 subjects x 5 clips x 3 labels; each
    # permutation swaps whole subjects (both seeds) and recomputes macro F1 with sklearn.
    from mer4d.metrics import bootstrap
    from mer4d.metrics.paired import cluster_swaps, paired_metric_permutation_test

    rng = np.random.default_rng(4)
    subjects = np.repeat(np.arange(6), 5)
    truth = rng.random((30, 3)) < 0.4
    seeds_a = [np.where(rng.random((30, 3)) < 0.75, truth, ~truth) for _ in range(2)]
    seeds_b = [np.where(rng.random((30, 3)) < 0.6, truth, ~truth) for _ in range(2)]
    counts = lambda p: bootstrap.multilabel_counts(truth, p, subjects, 6)  # noqa: E731
    score = lambda t: bootstrap.multilabel_from_counts(t, 3)  # noqa: E731
    result = paired_metric_permutation_test([counts(p) for p in seeds_a], [counts(p) for p in seeds_b], score, "macro_f1", 60, 200, seed=3)

    def stat(pa, pb):
        return np.mean([_macro_f1(truth, a) - _macro_f1(truth, b) for a, b in zip(pa, pb, strict=True)])

    observed = stat(seeds_a, seeds_b)
    extreme = 0
    for row in cluster_swaps(6, 200, seed=3):
        swapped = row[subjects].astype(bool)[:, None]
        pa = [np.where(swapped, b, a) for a, b in zip(seeds_a, seeds_b, strict=True)]
        pb = [np.where(swapped, a, b) for a, b in zip(seeds_a, seeds_b, strict=True)]
        extreme += abs(stat(pa, pb)) >= abs(observed) - 1e-12
    assert result.observed == pytest.approx(observed, abs=1e-12)
    assert result.p_value == pytest.approx((1 + extreme) / 201)
    assert (result.clips, result.clusters) == (60, 6)


def test_the_metric_test_on_identical_and_clearly_different_runs():
    from mer4d.metrics import bootstrap
    from mer4d.metrics.paired import paired_metric_permutation_test

    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(20), 6)
    truth = rng.integers(0, 3, len(subjects))
    good = np.where(rng.random(len(truth)) < 0.9, truth, (truth + 1) % 3)
    bad = rng.integers(0, 3, len(truth))
    counts = lambda p: bootstrap.single_label_counts(truth, p, 3, subjects, 20)  # noqa: E731
    score = lambda t: bootstrap.single_label_from_counts(t, 3)  # noqa: E731
    same = paired_metric_permutation_test([counts(good)], [counts(good)], score, "uf1", len(truth))
    assert same.observed == 0 and same.p_value == 1.0
    clear = paired_metric_permutation_test([counts(good)], [counts(bad)], score, "uf1", len(truth))
    assert clear.observed > 0.4 and clear.p_value < 0.001
    with pytest.raises(Exception, match="same non-zero number of seeds"):
        paired_metric_permutation_test([counts(good)], [], score, "uf1", len(truth))
