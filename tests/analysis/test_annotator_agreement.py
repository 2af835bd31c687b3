"""Simulated annotators: kappa recovers the planted agreement level; the writers' annotators.csv; the raters'
CSV reader's errors; ``mer4d analyze agreement`` end to end (printed, logged, equal to the metric)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from mer4d.analysis.raters import read_raters
from mer4d.cli import cli
from mer4d.core.errors import DataError
from mer4d.metrics.agreement import category_counts, cohen_kappa, fleiss_kappa
from mer4d.synth.annotators import ANNOTATORS_FILE, expected_kappa, simulate_annotators
from mer4d.synth.writers import WRITERS

SHARES = np.array([0.40, 0.25, 0.15, 0.12, 0.08])  # unequal planted label shares, as real datasets have
CATEGORIES = ("a", "b", "c", "d", "e")


def exact_item_agreement(m: int, k: int, p: float) -> tuple[float, float]:
    """Mean and variance of one item's P_i under the annotator model, by enumerating every label tuple.

    The true category is 0 (the model is symmetric, so every true category gives the same law):
    each rater keeps it with probability 1 - p, else picks one of the k - 1 others uniformly.
    """
    probs = np.array([1 - p] + [p / (k - 1)] * (k - 1))
    mean = second = 0.0
    for labels in itertools.product(range(k), repeat=m):
        weight = float(np.prod(probs[list(labels)]))
        n = np.bincount(labels, minlength=k)
        agree = ((n**2).sum() - m) / (m * (m - 1))
        mean += weight * agree
        second += weight * agree**2
    return mean, second - mean**2


def tolerance(n: int, m: int, k: int, p: float, pi: np.ndarray) -> float:
    """Four standard errors of Fleiss' kappa for n items (delta method, each part bounded from above).

    kappa = (P_bar - P_e) / (1 - P_e). P_bar is a mean of n independent P_i (exact variance above);
    P_e = sum_j q_j^2 with q_j a mean of n m independent ratings, so sd(q_j) <= sqrt(q_j (1 - q_j) / (n m))
    and sd(P_e) <= sum_j 2 q_j sd(q_j). The two parts are added (no cancellation assumed), plus 1/n
    for the ratio estimator's O(1/n) bias.
    """
    p_o, var_item = exact_item_agreement(m, k, p)
    q = pi * (1 - p) + (1 - pi) * p / (k - 1)
    p_e = (q**2).sum()
    sd_pbar = math.sqrt(var_item / n)
    sd_pe = float((2 * q * np.sqrt(q * (1 - q) / (n * m))).sum())
    return 4 * (sd_pbar / (1 - p_e) + sd_pe * (1 - p_o) / (1 - p_e) ** 2) + 1.0 / n


def planted(n: int, rng) -> list[str]:
    return list(np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), size=n, p=SHARES)])


def test_the_analytic_agreement_matches_exact_enumeration():
    for p in (0.0, 0.2, 0.6):
        mean, _ = exact_item_agreement(4, 5, p)
        assert mean == pytest.approx((1 - p) ** 2 + p**2 / 4, abs=1e-12)  # P_o of synth.annotators
    assert expected_kappa(SHARES, 0.0) == pytest.approx(1.0)
    # a disagreement that makes every label equally likely whatever was planted: no agreement beyond chance
    assert expected_kappa(SHARES, 0.8) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p", [0.1, 0.25, 0.4])
def test_fleiss_kappa_recovers_the_planted_agreement(p):
    n, m, k = 5000, 4, len(CATEGORIES)
    rng = np.random.default_rng(int(p * 100))
    truth = planted(n, rng)
    ratings = simulate_annotators(truth, CATEGORIES, m, p, rng)
    pi = np.array([truth.count(c) for c in CATEGORIES]) / n  # the planted shares of this draw
    counts, _ = category_counts(ratings, CATEGORIES)
    tol = tolerance(n, m, k, p, pi)
    assert abs(fleiss_kappa(counts) - expected_kappa(pi, p)) < tol
    assert abs(expected_kappa(pi, p) - expected_kappa(pi, p + 0.1)) > 2 * tol  # tight enough to tell p from p + 0.1
    assert np.mean(ratings == np.array(truth)[:, None]) == pytest.approx(1 - p, abs=4 * math.sqrt(p * (1 - p) / (n * m)))


def test_cohen_kappa_of_two_annotators_recovers_it_too():
    n, p = 3000, 0.25
    rng = np.random.default_rng(7)
    truth = planted(n, rng)
    ratings = simulate_annotators(truth, CATEGORIES, 2, p, rng)
    pi = np.array([truth.count(c) for c in CATEGORIES]) / n
    # two raters with the same marginal law: Cohen's and Fleiss' chance terms agree up to sampling noise;
    # each rater's marginal rests on n ratings (not 2n), so the bound is taken with m = 1
    assert abs(cohen_kappa(ratings[:, 0], ratings[:, 1]) - expected_kappa(pi, p)) < tolerance(n, 1 + 1, 5, p, pi) * math.sqrt(2)


def test_annotator_options_are_checked():
    rng = np.random.default_rng(0)
    for raters, p, message in ((1, 0.2, "annotators"), (3, 1.0, "disagreement"), (3, -0.1, "disagreement"), (True, 0.2, "annotators")):
        with pytest.raises(DataError, match=message):
            simulate_annotators(["a", "b"], ["a", "b"], raters, p, rng)
    with pytest.raises(DataError, match=r"\['z'\] are not among the categories"):
        simulate_annotators(["a", "z"], ["a", "b"], 3, 0.2, rng)
    with pytest.raises(DataError, match="needs annotators=N"):
        WRITERS["casme2"](Path("/nonexistent"), disagreement=0.3)


@pytest.fixture(scope="module")
def casme2_with_annotators(tmp_path_factory) -> Path:
    return WRITERS["casme2"](tmp_path_factory.mktemp("c2") / "CASME2", size="quick", seed=0, progress=False, annotators=3, disagreement=0.25)


def test_the_writer_puts_annotators_beside_the_label_sheet(casme2_with_annotators):
    import mer4d.data.datasets  # noqa: F401
    from mer4d.data.spec import DATASETS

    index, _ = DATASETS.get("casme2").run_scan(casme2_with_annotators)
    table = read_raters(casme2_with_annotators / ANNOTATORS_FILE)
    assert table.items == tuple(index["clip_id"]) and table.raters == ("rater_1", "rater_2", "rater_3")
    assert set(table.labels.ravel()) <= set(DATASETS.get("casme2").scheme("own").classes)
    kept = (table.labels == index["emotion"].to_numpy()[:, None]).mean()
    assert 0.5 < kept < 0.95  # 36 ratings at p = 0.25: 75 % +- 3 sd
    again = WRITERS["casme2"](casme2_with_annotators.parent / "again", size="quick", seed=0, progress=False, annotators=3, disagreement=0.25)
    assert (again / ANNOTATORS_FILE).read_bytes() == (casme2_with_annotators / ANNOTATORS_FILE).read_bytes()  # seeded


def test_analyze_agreement_prints_and_logs_the_kappa(casme2_with_annotators, store, tmp_path):
    path = casme2_with_annotators / ANNOTATORS_FILE
    out = CliRunner().invoke(cli, ["analyze", "agreement", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    table = read_raters(path)
    kappa = fleiss_kappa(category_counts(table.labels)[0])
    assert f"Fleiss' kappa = {kappa:.4f}" in out.output
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("analysis")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["mer4d.analysis"] == "agreement"
    assert run.data.metrics["fleiss_kappa"] == pytest.approx(kappa, abs=1e-12) and run.data.metrics["n_raters"] == 3
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"per_category.csv", "pairwise_cohen.csv", "report.md", f"input_{ANNOTATORS_FILE}"} <= names
    pairwise = pd.read_csv(client.download_artifacts(run.info.run_id, "pairwise_cohen.csv", str(tmp_path)), index_col=0)
    assert pairwise.loc["rater_1", "rater_3"] == pytest.approx(cohen_kappa(table.labels[:, 0], table.labels[:, 2]), abs=1e-12)


def test_two_raters_get_cohens_kappa_as_the_headline(tmp_path, store):
    path = tmp_path / "two.csv"
    path.write_text("clip_id,ann_a,ann_b\nc1,x,x\nc2,x,y\nc3,y,y\nc4,z,y\nc5,z,z\n")
    out = CliRunner().invoke(cli, ["analyze", "agreement", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    a, b = ["x", "x", "y", "z", "z"], ["x", "y", "y", "y", "z"]
    assert f"Cohen's kappa = {cohen_kappa(a, b):.4f}" in out.output


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("clip_id,r1\nc1,x\n", "row 1: found 2 column"),
    ("clip_id,r1,r1\nc1,x,y\n", r"\['r1'\] appear more than once"),
    ("clip_id,,r2\nc1,x,y\n", "row 1, column 2: empty header cell"),
    ("clip_id,r1,r2\n", "a header but no item rows"),
    ("clip_id,r1,r2\nc1,x,y\nc2,x\n", "row 3: 2 cell"),
    ("clip_id,r1,r2\nc1,x,y\n,x,y\n", "row 3, column 'clip_id': empty item id"),
    ("clip_id,r1,r2\nc1,x,y\n\nc1,y,y\n", "row 4, column 'clip_id': item 'c1' already appears in row 2"),
    ("clip_id,r1,r2\nc1,x,y\nc2,x, \n", r"row 3 \(item 'c2'\), column 'r2': empty rating"),
    ("clip_id,r1,r2\nc1,x,x\nc2,x,x\n", "every rating is 'x'"),
])
def test_a_malformed_raters_file_names_row_and_column(tmp_path, text, message):
    path = tmp_path / "raters.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_raters(path)


def test_a_missing_file_is_a_clear_cli_error(tmp_path):
    out = CliRunner().invoke(cli, ["analyze", "agreement", str(tmp_path / "nope.csv")])
    assert out.exit_code != 0 and "no such file" in str(out.exception)


def test_annotators_follow_the_written_layout_and_a_multilabel_sheet(tmp_path):
    import mer4d.data.datasets  # noqa: F401
    from mer4d.data.spec import DATASETS

    # SMIC written for the VIS camera: the read-back scan must use the same camera
    root = WRITERS["smic"](tmp_path / "smic", seed=1, progress=False, camera="VIS", annotators=2)
    index, _ = DATASETS.get("smic").run_scan(root, camera="VIS")
    assert read_raters(root / ANNOTATORS_FILE).items == tuple(index["clip_id"])
    # 4DME (multi-label): an annotator's label is a whole combination of the sheet (Surprise+Positive)
    root = WRITERS["4dme"](tmp_path / "4dme", subjects=2, micro_per_subject=2, seed=4, progress=False, annotators=3, disagreement=0.0)
    index, _ = DATASETS.get("4dme").run_scan(root)
    table = read_raters(root / ANNOTATORS_FILE)
    assert (table.labels == index["emotion"].to_numpy()[:, None]).all()  # no disagreement: every annotator gives the planted label
