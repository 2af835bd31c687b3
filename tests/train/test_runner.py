import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE
from sklearn.metrics import f1_score

from mer4d.core.errors import DataError, ProtocolError, RecipeError
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.train.inner_split import inner_validation_split
from mer4d.train.runner import run_protocol
from mer4d.train.targets import encode_targets, prediction_table, table_metrics
from mer4d.train.tracker import MemoryTracker


def tiny(*extra):
    return load_recipe(TOY_RECIPE, [*TINY, *extra]).recipe


def test_runner_covers_every_clip_once_and_pools_metrics_like_sklearn():
    recipe = tiny()
    corpus = load_corpus(recipe)
    tracker = MemoryTracker()
    result = run_protocol(recipe, corpus, tracker, progress=False)
    assert sorted(result.table["clip_id"]) == sorted(corpus.index["clip_id"])
    assert len(result.folds) == corpus.index["subject"].nunique()  # LOSO
    for outcome in result.folds:  # each fold tests exactly one subject
        assert outcome.table["subject"].nunique() == 1
    expected = f1_score(result.table["truth"], result.table["prediction"], labels=list(result.classes), average="macro", zero_division=0)
    assert result.metrics["uf1"] == pytest.approx(expected, abs=1e-12)
    assert result.confusion.sum() == len(corpus.index)
    assert [len(v) for v in tracker.epochs.values()] == [recipe.train.epochs] * len(result.folds)


def test_resume_reuses_finished_folds_and_matches_a_fresh_run():
    recipe = tiny("train.epochs=2")
    corpus = load_corpus(recipe)
    full = run_protocol(recipe, corpus, MemoryTracker(), progress=False)
    # Pretend the first two folds finished before a crash, with a marker in their tables.
    done = {o.number: dataclasses.replace(o, table=o.table.assign(marker=1)) for o in full.folds[:2]}
    tracker = MemoryTracker(done=dict(done))
    resumed = run_protocol(recipe, corpus, tracker, progress=False)
    assert sorted(tracker.epochs) == [2]  # only the unfinished fold ran
    assert (resumed.table["marker"] == 1).sum() == sum(len(o.table) for o in done.values())
    pd.testing.assert_frame_equal(resumed.folds[2].table, full.folds[2].table)
    assert resumed.metrics == full.metrics


def test_same_seed_same_results_other_seed_differs():
    a = run_protocol(tiny(), load_corpus(tiny()), MemoryTracker(), progress=False)
    b = run_protocol(tiny(), load_corpus(tiny()), MemoryTracker(), progress=False)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = run_protocol(tiny("seed=5"), load_corpus(tiny("seed=5")), MemoryTracker(), progress=False)
    assert not np.allclose(a.table.filter(like="score_").to_numpy(), c.table.filter(like="score_").to_numpy())


def test_early_stopping_uses_only_training_subjects_and_logs_validation_loss():
    recipe = tiny("train.val_fraction=0.5", "train.epochs=4", "train.patience=1", "dataset.params.subjects=4")
    corpus = load_corpus(recipe)
    tracker = MemoryTracker()
    result = run_protocol(recipe, corpus, tracker, progress=False)
    for outcome in result.folds:
        assert 1 <= outcome.metrics["best_epoch"] <= outcome.epochs_run <= 4
        logged = tracker.epochs[outcome.number]
        assert all("val_loss" in e for e in logged)
        if outcome.epochs_run < 4:  # stopped early: the last `patience` epochs did not improve
            best = min(e["val_loss"] for e in logged)
            assert logged[-1]["val_loss"] >= best


def test_inner_validation_split_is_by_subject_and_inside_the_training_set():
    index = pd.DataFrame({"subject": np.repeat(["a", "b", "c", "d", "e"], 3)})
    train = np.arange(3, 15)  # subject a is the test fold
    tr, va = inner_validation_split(index, train, 0.25, seed=1)
    assert set(tr) | set(va) == set(train) and not set(tr) & set(va)
    assert not set(index["subject"].iloc[tr]) & set(index["subject"].iloc[va])
    assert "a" not in set(index["subject"].iloc[np.concatenate([tr, va])])
    again = inner_validation_split(index, train, 0.25, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip((tr, va), again, strict=True))
    with pytest.raises(ProtocolError, match="needs at least 2 training subjects"):
        inner_validation_split(index, np.arange(3), 0.5, seed=0)


def test_recipe_consistency_errors_come_before_training():
    corpus = load_corpus(tiny())
    with pytest.raises(RecipeError, match="single-label and needs train.loss=ce"):
        run_protocol(tiny("train.loss=bce"), corpus, MemoryTracker(), progress=False)
    with pytest.raises(KeyError, match="did you mean 'tiny3d'"):
        run_protocol(tiny("model.name=tiny3"), corpus, MemoryTracker(), progress=False)
    with pytest.raises(RecipeError, match=r"model.params \(model 'tiny3d'\): unknown option 'widht'; did you mean 'width'"):
        run_protocol(tiny("model.params.widht=3"), corpus, MemoryTracker(), progress=False)


def test_targets_and_multilabel_tables():
    index = pd.DataFrame({"clip_id": ["a", "b", "c"], "subject": ["1", "1", "2"], "emotion": ["x", "y", "z"], "emotions": [["x"], ["x", "y"], []]})
    with pytest.raises(DataError, match=r"labels outside the class set \['x', 'y'\]: \[\('c', 'z'\)\]"):
        encode_targets(index, "emotion", ("x", "y"))
    multi = encode_targets(index, "emotion_multilabel", ("x", "y"))
    np.testing.assert_array_equal(multi, [[1, 0], [1, 1], [0, 0]])
    scores = np.array([[0.9, 0.2], [0.7, 0.4], [0.1, 0.6]])
    table = prediction_table(index, "f0", multi, scores, ("x", "y"), "emotion_multilabel")
    assert list(table["truth"]) == ["x", "x+y", ""] and list(table["prediction"]) == ["x", "x", "y"]
    metrics = table_metrics(table, ("x", "y"), "emotion_multilabel")
    assert metrics["f1_x"] == pytest.approx(1.0) and metrics["acc_y"] == pytest.approx(1 / 3)
    assert metrics["f1_y"] == pytest.approx(f1_score([0, 1, 0], [0, 0, 1], zero_division=0))


def test_shared_settings_come_from_sampling_and_preprocess_once():
    corpus = load_corpus(tiny("sampling.frames=5", "preprocess.size=20"))
    assert corpus.load_clip(0).shape == (1, 5, 20, 20)
    with pytest.raises(RecipeError, match="dataset.params.frames: set sampling.frames instead"):
        load_corpus(tiny("dataset.params.frames=5"))
