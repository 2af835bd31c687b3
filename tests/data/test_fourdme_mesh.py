"""4DME mesh modality: cached multi-view dynamic images, EVM copies kept out of every test set."""

import numpy as np
import pytest

import mer4d.preprocess.mesh_views as mesh_views
from mer4d.pipeline import open_dataset
from mer4d.recipes import load_recipe
from mer4d.synth.writers.fourdme import write_fourdme
from mer4d.train.runner import build_folds

RENDER = {"views": ["left", "front", "right"], "domains": ["dpi", "edpi", "texture"], "size": 32, "align": "icp"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("sim4d"), subjects=3, micro_per_subject=1, seed=5, progress=False)


def test_mesh_clips_become_cached_dynamic_images(root, tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    calls = []
    real = mesh_views.view_frames
    monkeypatch.setattr(mesh_views, "view_frames", lambda *a, **k: calls.append(1) or real(*a, **k))
    corpus = open_dataset("4dme", root, modality="mesh", frames=4, render=RENDER, progress=False)
    clip = corpus.load_clip(0)
    assert clip.shape == (3, 3, 32, 32) and clip.dtype == np.float32 and 0.0 <= clip.min() < clip.max() <= 1.0
    assert len(calls) == 3 and len(list((tmp_path / "cache" / "dynamic").glob("*.npz"))) == 3
    again = open_dataset("4dme", root, modality="mesh", frames=4, render=RENDER, progress=False)
    assert len(calls) == 3  # second load: nothing rendered
    np.testing.assert_array_equal(again.load_clip(2), corpus.load_clip(2))
    other = open_dataset("4dme", root, modality="mesh", frames=4, render={**RENDER, "yaw_deg": 20.0}, progress=False)
    assert len(calls) == 6 and not np.array_equal(other.load_clip(0), clip)  # a setting change re-renders
    assert not list((tmp_path / "cache" / "dynamic").glob(".tmp-*"))


def test_evm_copies_train_with_their_original_and_never_test(root, tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    corpus = open_dataset("4dme", root, modality="mesh", frames=4, render={**RENDER, "magnify": True}, progress=False)
    index = corpus.index
    assert len(index) == 6 and (index["augmented_from"] >= 0).sum() == 3
    assert index["clip_id"].iloc[3:].str.endswith("#evm").all()
    assert not np.array_equal(corpus.load_clip(3), corpus.load_clip(0))
    recipe = load_recipe("recipes/4dme_ccdn.yaml", [f"dataset.root={root}", "protocol.kind=loso"]).recipe
    for fold in build_folds(recipe, corpus):
        assert (index["augmented_from"].to_numpy()[fold.test] < 0).all()
        for copy in fold.train[index["augmented_from"].to_numpy()[fold.train] >= 0]:
            assert index["augmented_from"].iat[copy] in fold.train
        assert set(index["subject"].iloc[fold.train]).isdisjoint(index["subject"].iloc[fold.test])
