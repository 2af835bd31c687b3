"""Subject-bootstrap intervals: the vectorised replicates equal a naive loop over resampled tables."""

import time

import numpy as np
import pandas as pd
import pytest

from mer4d.metrics import bootstrap
from mer4d.train.evidence import interval_metrics, table_counts
from mer4d.train.targets import table_metrics

CLASSES = ("neg", "pos", "sur")


def single_table(rng, subjects=8, clips=5, p_right=0.6):
    rows = []
    for s in range(subjects):
        for c in range(clips):
            truth = CLASSES[rng.integers(3)]
            pred = truth if rng.random() < p_right else CLASSES[rng.integers(3)]
            rows.append({"clip_id": f"s{s}_c{c}", "subject": f"s{s:02d}", "fold": f"f{s % 3}", "truth": truth, "prediction": pred})
    return pd.DataFrame(rows)


def multi_table(rng, subjects=6, clips=4):
    n = subjects * clips
    table = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "subject": [f"s{i // clips}" for i in range(n)], "fold": "f0"})
    truth = rng.integers(0, 2, (n, 3))
    pred = np.where(rng.random((n, 3)) < 0.7, truth, 1 - truth)
    for k, c in enumerate(CLASSES):
        table[f"true_{c}"], table[f"pred_{c}"] = truth[:, k], pred[:, k]
    return table


def naive(tables, task, draws, names):
    """Each replicate: the drawn subjects' clips (a subject drawn twice counts twice), scored per table with table_metrics, averaged."""
    subjects = sorted({str(s) for t in tables for s in t["subject"]})
    out = {n: [] for n in names}
    for row in draws:
        per_seed = []
        for t in tables:
            picked = pd.concat([t[t["subject"] == subjects[i]] for i in row], ignore_index=True)
            picked["fold"] = "one"  # pooled metrics only
            per_seed.append(table_metrics(picked, CLASSES, task))
        for n in names:
            out[n].append(np.mean([m[n] for m in per_seed]))
    return {n: np.array(v) for n, v in out.items()}


@pytest.mark.parametrize("task", ["emotion", "emotion_multilabel"])
def test_replicates_equal_a_naive_loop_over_resampled_tables(task):
    rng = np.random.default_rng(3)
    make = single_table if task == "emotion" else multi_table
    tables = [make(rng), make(rng)]  # two seeds on the same subjects
    if task == "emotion":
        tables[1]["clip_id"] = tables[0]["clip_id"]
        tables[1]["subject"] = tables[0]["subject"]
    names = ("acc", "uf1", "uar") if task == "emotion" else ("macro_f1", "macro_acc", "subset_acc")
    counts, score = table_counts(tables, CLASSES, task)
    draws = bootstrap.cluster_draws(counts[0].shape[0], 40, seed=1)
    fast = bootstrap.replicates(counts, score, draws)
    slow = naive(tables, task, draws, names)
    for n in names:
        np.testing.assert_allclose(fast[n], slow[n], atol=1e-12)
    # no resampling (every subject once) gives the pooled metrics of table_metrics
    whole = bootstrap.replicates(counts, score, np.arange(counts[0].shape[0])[None, :])
    for n in names:
        assert whole[n][0] == pytest.approx(np.mean([table_metrics(t, CLASSES, task)[n] for t in tables]), abs=1e-12)


def test_hand_case_two_subjects():
    # subject a: 2 clips right; subject b: 2 clips wrong. Draws {a,a}, {a,b}, {b,b} -> ACC 1, 0.5, 0.
    y_true, y_pred = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0])
    codes = np.array([0, 0, 1, 1])
    counts = bootstrap.single_label_counts(y_true, y_pred, 2, codes, 2)
    reps = bootstrap.replicates([counts], lambda t: bootstrap.single_label_from_counts(t, 2), np.array([[0, 0], [0, 1], [1, 1]]))
    np.testing.assert_allclose(reps["acc"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(reps["uf1"], [1.0, 0.5, 0.0])  # {a,b}: each class 1 TP, 1 FP, 1 FN -> F1 0.5
    assert bootstrap.percentile_interval(np.array([0.0, 0.5, 1.0]), 0.5) == (0.25, 0.75)


def test_resampling_subjects_is_wider_than_clips_when_a_subjects_clips_agree():
    rng = np.random.default_rng(0)
    rows = []
    for s in range(30):
        right = rng.random() < 0.5  # each subject's clips are all right or all wrong: strongly correlated
        for c in range(10):
            truth = CLASSES[c % 3]
            rows.append({"clip_id": f"s{s}c{c}", "subject": f"s{s}", "fold": "f", "truth": truth, "prediction": truth if right else CLASSES[(c + 1) % 3]})
    table = pd.DataFrame(rows)
    by_subject = interval_metrics([table], CLASSES, "emotion", by="subject")
    by_clip = interval_metrics([table], CLASSES, "emotion", by="clip_id")
    width = {k: v["acc_ci_high"] - v["acc_ci_low"] for k, v in (("subject", by_subject), ("clip", by_clip))}
    assert width["subject"] > 2 * width["clip"]


def test_two_thousand_replicates_on_500_clips_take_well_under_a_second_per_seed():
    rng = np.random.default_rng(1)
    tables = [single_table(rng, subjects=50, clips=10) for _ in range(3)]
    for t in tables[1:]:
        t["clip_id"], t["subject"] = tables[0]["clip_id"], tables[0]["subject"]
    start = time.perf_counter()
    found = interval_metrics(tables, CLASSES, "emotion")
    assert time.perf_counter() - start < 3.0
    assert found["uf1_ci_low"] < found["uf1_ci_high"]
    assert interval_metrics(tables, CLASSES, "emotion") == found  # seeded
