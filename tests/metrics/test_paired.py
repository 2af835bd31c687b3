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
