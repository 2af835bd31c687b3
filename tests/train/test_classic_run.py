"""Classic models (LBP-TOP + SVM) and train.crop through the protocol runner."""

import numpy as np
import pandas as pd
import pytest
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from mer4d.data.corpus import Corpus
from mer4d.preprocess.lbptop import lbp_top
from mer4d.recipes.schema import Recipe
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker


def texture_corpus(n_per_subject=6, size=24) -> tuple[Corpus, np.ndarray]:
    """Three subjects; class 'flat' clips are blockwise constant noise, 'busy' ones pixel noise."""
    rng = np.random.default_rng(1)
    n = 3 * n_per_subject
    clips = rng.random((n, 1, 6, size, size)).astype(np.float32)
    labels = np.array(["flat", "busy"] * (n // 2))
    for k in np.flatnonzero(labels == "flat"):
        clips[k, 0] = np.repeat(np.repeat(clips[k, 0, :, ::4, ::4], 4, axis=1), 4, axis=2)
    index = pd.DataFrame({
        "dataset": "fake", "subject": np.repeat(["a", "b", "c"], n_per_subject), "clip_id": [f"c{i}" for i in range(n)], "kind": "micro",
        "fps": 30.0, "onset": 0, "apex": 2, "offset": 5, "emotion": labels,
    })
    return Corpus("fake", index, ("flat", "busy"), lambda i: clips[i], "f" * 16), clips


def recipe(model: dict, **train) -> Recipe:
    return Recipe.model_validate({"name": "t", "dataset": {"name": "fake"}, "model": model, "train": {"epochs": 2, "batch_size": 4, **train}})


def test_lbptop_svm_runs_every_fold_once_on_centre_crops_like_a_direct_sklearn_fit(monkeypatch, tmp_path):
    from mer4d.models import lbptop_svm

    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))  # an empty feature cache: every clip is computed here

    corpus, clips = texture_corpus()
    calls = []
    monkeypatch.setattr(lbptop_svm, "lbp_top", lambda clip, *a: calls.append(1) or lbp_top(clip, *a))
    tracker = MemoryTracker()
    result = run_protocol(recipe({"name": "lbptop_svm", "params": {"blocks": [2, 2]}}, crop=20), corpus, tracker, progress=False)
    assert len(result.folds) == 3 and all(v == [] for v in tracker.epochs.values())  # no epochs for a classic model
    assert result.metrics["uf1"] == pytest.approx(1.0)  # the two textures are separable
    assert len(calls) == len(clips)  # each clip's features once, shared by the three folds
    # fold 'a' by hand: features of the 20 x 20 centre crops, SVM on subjects b and c
    crops = clips[:, 0, :, 2:22, 2:22]
    feats = np.stack([lbp_top(c, (2, 2), (1, 1, 2), 8) for c in crops])
    test, train = corpus.index["subject"] == "a", corpus.index["subject"] != "a"
    ids = (corpus.index["emotion"] == "busy").astype(int)  # the class order of the corpus: flat 0, busy 1
    svm = OneVsRestClassifier(LinearSVC(C=1000.0, max_iter=20000, random_state=0)).fit(feats[train], ids[train])
    d = svm.decision_function(feats[test])  # two classes: one column, the margin of 'busy'
    fold_a = result.table[result.table["subject"] == "a"]
    expected = 1 / (1 + np.exp(-(2 * d)))  # softmax of (-d, d) for the second class
    np.testing.assert_allclose(fold_a["score_busy"].to_numpy(), expected, rtol=1e-6)


def test_train_crop_feeds_the_model_crops_in_training_and_at_test(monkeypatch):
    corpus, _ = texture_corpus()
    seen = []

    from mer4d.models import tiny3d

    original = tiny3d.Tiny3D.forward

    def spy(self, x):
        seen.append(tuple(x.shape[-2:]))
        return original(self, x)

    monkeypatch.setattr(tiny3d.Tiny3D, "forward", spy)
    run_protocol(recipe({"name": "tiny3d", "params": {"width": 4}}, crop=16), corpus, MemoryTracker(), progress=False)
    assert seen and set(seen) == {(16, 16)}


def test_feature_rows_are_cached_on_disk_by_input_settings_and_code(monkeypatch, tmp_path, caplog):
    from mer4d.models import lbptop_svm

    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))
    corpus, clips = texture_corpus()
    calls = []
    monkeypatch.setattr(lbptop_svm, "lbp_top", lambda clip, *a: calls.append(1) or lbp_top(clip, *a))
    model = {"name": "lbptop_svm", "params": {"blocks": [2, 2]}}
    first = run_protocol(recipe(model, crop=20), corpus, MemoryTracker(), progress=False)
    assert len(calls) == len(clips)
    again = run_protocol(recipe(model, crop=20), corpus, MemoryTracker(), progress=False)
    assert len(calls) == len(clips)  # a second run reads every row from the cache
    pd.testing.assert_frame_equal(first.table, again.table)
    # another crop or block grid is another input: computed afresh
    run_protocol(recipe({"name": "lbptop_svm", "params": {"blocks": [3, 3]}}, crop=20), corpus, MemoryTracker(), progress=False)
    assert len(calls) == 2 * len(clips)
    # a changed clip is a miss for that clip only
    clips[0] += 0.5
    run_protocol(recipe(model, crop=20), corpus, MemoryTracker(), progress=False)
    assert len(calls) == 2 * len(clips) + 1
    # an unreadable entry is made again with a warning naming it, and the run's numbers do not change
    entries = sorted((tmp_path / "features").glob("*.npz"))
    assert len(entries) == 2 * len(clips) + 1  # two settings, plus the changed clip
    for entry in entries:
        entry.write_bytes(b"not an npz")
    clips[0] -= 0.5
    with caplog.at_level("WARNING"):
        repaired = run_protocol(recipe(model, crop=20), corpus, MemoryTracker(), progress=False)
    assert "features cache entry" in caplog.text and "cannot be read" in caplog.text and "clip c" in caplog.text
    pd.testing.assert_frame_equal(first.table, repaired.table)


def test_editing_the_feature_code_changes_the_cache_key(monkeypatch):
    from mer4d.models import lbptop_svm
    from mer4d.train import classic

    # the stamp hashes the model's module and preprocess/lbptop.py, whose lbp_top it calls
    extractor = lbptop_svm.LBPTOPSVM(2, (2, 2), (1, 1, 2))
    stamp = classic.code_stamp(extractor)
    import mer4d.preprocess.lbptop as lbp_module

    real = classic.inspect.getsourcefile
    monkeypatch.setattr(classic.inspect, "getsourcefile", lambda m: __file__ if m is lbp_module else real(m))
    assert classic.code_stamp(extractor) != stamp
