"""Paired comparison of two runs on the same clips: a cluster sign-flip permutation test.

The per-clip statistic is the difference ``d_i = x_A,i - x_B,i`` of a per-clip score (1/0
correctness for single-label tasks; for multi-label tasks the clip's mean label accuracy, whose
mean over clips is exactly macro accuracy). Under the null hypothesis that A and B are
exchangeable, swapping A and B for a *subject* (all its clips, and all seeds' predictions of them,
at once) leaves the distribution unchanged; so each permutation flips the sign of every subject's
summed difference at random, and the p-value is the share of permutations whose |mean difference|
is at least the observed one, counting the observed assignment itself
(``p = (1 + #{|null| >= |observed|}) / (1 + P)``, never 0). Flipping whole subjects instead of
single clips respects that clips of one subject are correlated.

The headline-metric difference and its interval come from the paired subject bootstrap
(:mod:`mer4d.metrics.bootstrap`: the same draws for A and B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mer4d.core.errors import DataError
from mer4d.metrics.bootstrap import cluster_codes

PERMUTATIONS = 10_000


@dataclass(frozen=True)
class PermutationResult:
    observed: float  # mean per-clip difference A - B
    p_value: float
    permutations: int
    clips: int
    clusters: int


def cluster_signs(n_clusters: int, permutations: int = PERMUTATIONS, seed: int = 0) -> np.ndarray:
    """(P, S) random signs +-1, one row per permutation (seeded)."""
    return np.where(np.random.default_rng(seed).random((permutations, n_clusters)) < 0.5, -1.0, 1.0)


def paired_permutation_test(differences: np.ndarray, clusters, permutations: int = PERMUTATIONS, seed: int = 0) -> PermutationResult:
    """Two-sided sign-flip test of mean(``differences``) = 0, flipping per cluster.

    Args:
        differences: (N,) per-clip differences A - B (a clip of several seeds appears once per seed).
        clusters: (N,) the subject of each entry.
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or len(d) == 0:
        raise DataError(f"paired_permutation_test: expected a non-empty 1-D array of differences, got shape {d.shape}")
    codes, n_clusters = cluster_codes(clusters)
    if len(codes) != len(d):
        raise DataError(f"paired_permutation_test: {len(d)} differences but {len(codes)} cluster labels")
    sums = np.bincount(codes, weights=d, minlength=n_clusters)
    observed = sums.sum() / len(d)
    null = cluster_signs(n_clusters, permutations, seed) @ sums / len(d)
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = int((np.abs(null) >= abs(observed) - tol).sum())
    return PermutationResult(float(observed), (1 + extreme) / (1 + permutations), permutations, len(d), n_clusters)


# --- the same subject swaps, on the headline metric itself ---


def cluster_swaps(n_clusters: int, permutations: int = PERMUTATIONS, seed: int = 0) -> np.ndarray:
    """(P, S) 1 where a permutation swaps A and B for that cluster, else 0 (the signs of :func:`cluster_signs`, as swaps)."""
    return (cluster_signs(n_clusters, permutations, seed) < 0).astype(np.float64)


def paired_metric_permutation_test(counts_a, counts_b, score, metric: str, clips: int, permutations: int = PERMUTATIONS,
                                   seed: int = 0) -> PermutationResult:
    """Two-sided permutation test of a pooled metric's difference A - B (e.g. macro F1 or UF1).

    Pooled F1 scores are not means over clips, so a sign flip of per-clip differences does not
    test them. Here a permutation swaps A's and B's predictions of a whole subject (every seed at
    once) and recomputes both runs' metric; the statistic is the mean over seeds of metric(A) -
    metric(B). Counts are additive over clusters, so a swap is linear in them:
    ``A' = sum_s A_s + m @ (B_s - A_s)``.

    Args:
        counts_a, counts_b: one (S, D) sufficient-count matrix per seed (:mod:`mer4d.metrics.bootstrap`),
            seed by seed paired, all over the same S clusters.
        score: summed counts (..., D) -> {metric: values (...)}.
        metric: the key of ``score``'s result to test.
        clips: how many (clip, seed) pairs the counts hold, for the report.
    """
    if len(counts_a) != len(counts_b) or not counts_a:
        raise DataError(f"paired_metric_permutation_test: expected the same non-zero number of seeds for A and B, got {len(counts_a)} and {len(counts_b)}")
    n_clusters = counts_a[0].shape[0]
    swaps = cluster_swaps(n_clusters, permutations, seed)
    observed, null = 0.0, np.zeros(permutations)
    for a, b in zip(counts_a, counts_b, strict=True):
        if a.shape != b.shape or a.shape[0] != n_clusters:
            raise DataError(f"paired_metric_permutation_test: every seed needs (S, D) counts over the same {n_clusters} clusters, got {a.shape} and {b.shape}")
        total_a, total_b, moved = a.sum(axis=0), b.sum(axis=0), swaps @ (b - a)
        observed += float(score(total_a)[metric] - score(total_b)[metric])
        null += score(total_a + moved)[metric] - score(total_b - moved)[metric]
    observed, null = observed / len(counts_a), null / len(counts_a)
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = int((np.abs(null) >= abs(observed) - tol).sum())
    return PermutationResult(observed, (1 + extreme) / (1 + permutations), permutations, clips, n_clusters)
