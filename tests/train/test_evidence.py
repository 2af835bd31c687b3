"""Repeats (several seeds) and the shuffled-label control, through MemoryTracker."""

import numpy as np
import pytest
from conftest import TINY, TOY_RECIPE

import mer4d.train.runner as runner
from mer4d.core.errors import RecipeError, TrackingError
from mer4d.data.protocols import make_folds
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.train.evidence import shuffled_rows
from mer4d.train.repeats import RepeatsRun, parse_seeds, run_recipe, with_seeds
from mer4d.train.runner import run_protocol
from mer4d.train.targets import encode_targets
from mer4d.train.tracker import MemoryTracker


def tiny(*extra):
    return load_recipe(TOY_RECIPE, [*TINY, *extra])


def training_targets_seen(monkeypatch, recipe, corpus):
    """Run the protocol, recording each fold's training positions and the targets fit() got."""
    seen = []
    from mer4d.train.engine import fit as real_fit

    def spy(model, train_set, *args, **kwargs):
        seen.append((train_set.positions.copy(), train_set.targets.copy()))
        return real_fit(model, train_set, *args, **kwargs)

    monkeypatch.setattr(runner, "fit", spy)
    result = run_protocol(recipe, corpus, MemoryTracker(), progress=False)
    return seen, result


def test_shuffled_control_permutes_training_targets_within_each_fold_and_leaves_test_labels(monkeypatch):
    recipe = tiny("control=shuffled").recipe
    corpus = load_corpus(recipe)
    classes = corpus.classes
    original = encode_targets(corpus.index, "emotion", tuple(classes))
    seen, result = training_targets_seen(monkeypatch, recipe, corpus)
    folds = make_folds(corpus.index, "loso", seed=recipe.seed, label_column="emotion")
    assert len(seen) == len(folds)
    moved = 0
    for (positions, targets), fold in zip(seen, folds, strict=True):
        np.testing.assert_array_equal(np.sort(positions), np.sort(fold.train))
        assert sorted(targets) == sorted(original[positions])  # a permutation of the fold's own training labels
        moved += int((targets != original[positions]).sum())
    assert moved > 0
    truth = dict(zip(corpus.index["clip_id"], np.array(classes)[original], strict=True))
    assert all(truth[c] == t for c, t in zip(result.table["clip_id"], result.table["truth"], strict=True))  # test labels untouched
    again, _ = training_targets_seen(monkeypatch, recipe, corpus)
    assert all((a[1] == b[1]).all() for a, b in zip(seen, again, strict=True))  # deterministic per seed
    plain, _ = training_targets_seen(monkeypatch, tiny().recipe, corpus)
    assert all((t == original[p]).all() for p, t in plain)  # without the control nothing moves


def test_shuffled_rows_permute_multilabel_rows_and_carry_augmented_copies():
    source = np.array([-1, -1, -1, -1, -1, 0, 1])  # rows 5, 6 are copies of 0, 1
    train = np.array([0, 1, 2, 5, 6])
    rows = shuffled_rows(train, source, seed=4)
    assert sorted(rows[[0, 1, 2]]) == [0, 1, 2] and rows[3] == 3 and rows[4] == 4  # test rows 3, 4 map to themselves
    assert rows[5] == rows[0] and rows[6] == rows[1]
    multi = np.eye(7, 3)
    np.testing.assert_array_equal(multi[rows][[0, 1, 2]], multi[rows[[0, 1, 2]]])  # whole rows move
    assert any((shuffled_rows(train, source, s) != rows).any() for s in range(5, 10))  # other seeds, other permutations
    np.testing.assert_array_equal(shuffled_rows(train, source, 4), rows)


def test_repeats_run_every_seed_and_hold_mean_sd_and_an_interval():
    tracker = MemoryTracker()
    tracked = run_recipe(tiny(), tracker, seeds=[0, 1], progress=False)
    assert isinstance(tracked, RepeatsRun) and tracker.status == "FINISHED" and tracker.seeds == [0, 1]
    assert sorted(tracker.seed_runs) == [0, 1] and {t.status for t in tracker.seed_runs.values()} == {"FINISHED"}
    m = tracked.result.metrics
    per_seed = [r.result.metrics["uf1"] for r in tracked.result.runs]
    assert m["n_seeds"] == 2 and m["uf1_mean"] == m["uf1"] == pytest.approx(np.mean(per_seed))
    assert m["uf1_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert m["uf1_ci_low"] <= m["uf1_ci_high"] and "acc_ci_low" in m and "uar_sd" in m
    assert sorted(tracked.result.table["seed"].unique()) == [0, 1]
    assert [r.result.folds[0].name for r in tracked.result.runs] == [tracked.result.runs[0].result.folds[0].name] * 2
    for run in tracked.result.runs:  # every single run carries an interval too
        assert "uf1_ci_low" in run.result.metrics


def test_seeds_resolve_from_repeats_and_one_seed_is_a_plain_run():
    assert tiny("repeats=3", "seed=4").recipe.seeds() == [4, 5, 6]
    assert tiny("repeats=[2, 0]").recipe.seeds() == [2, 0]
    single = with_seeds(tiny(), [7]).recipe
    assert single.seed == 7 and single.repeats is None
    assert with_seeds(tiny("repeats=3"), [1, 2]).recipe.seeds() == [1, 2]  # --seeds wins
    assert with_seeds(tiny(), None).recipe == tiny().recipe  # nothing asked: unchanged
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("", "a", "1,1", "-1"):
        with pytest.raises(RecipeError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(RecipeError, match="listed twice"):
        tiny("repeats=[1, 1]")


def test_resuming_a_repeats_run_is_refused_clearly():
    tracker = MemoryTracker()
    tracked = run_recipe(tiny("dataset.params.subjects=2"), tracker, seeds=[0, 1], progress=False)
    with pytest.raises(TrackingError, match="repeats run.*not supported"):
        run_recipe(tiny("dataset.params.subjects=2"), tracker, seeds=[0, 1], resume=tracked.run_id)
