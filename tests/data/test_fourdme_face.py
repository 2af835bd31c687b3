"""4DME gray clips with preprocess.face: aligned crops cached on disk, fallback counted, recipe wiring."""

import logging
import shutil

import cv2
import numpy as np
import pytest

import mer4d.pipeline.faces as fourdme_face
from mer4d.core.errors import DataError, RecipeError
from mer4d.data.readers import list_frames
from mer4d.pipeline import load_corpus, open_dataset
from mer4d.preprocess.face_landmarks import FaceNotFoundError
from mer4d.recipes import load_recipe
from mer4d.synth.writers.fourdme import write_fourdme

FACE = {"enabled": True, "landmarks": "auto", "crop": 48, "on_missing": "fallback"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("simface"), subjects=2, micro_per_subject=1, seed=11, progress=False)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "faces"


def counting(monkeypatch):
    calls = []
    real = fourdme_face.prepare_face_clip
    monkeypatch.setattr(fourdme_face, "prepare_face_clip", lambda *a, **k: calls.append(k["clip_id"]) or real(*a, **k))
    return calls


def test_aligned_clips_are_cached_and_read_back(root, cache, monkeypatch):
    calls = counting(monkeypatch)
    corpus = open_dataset("4dme", root, frames=4, size=32, face=FACE, progress=False)
    assert list(corpus.index["face_source"]) == ["dataset", "dataset"] and len(calls) == 2
    assert "faces aligned to 48 px (dataset 2)" in corpus.description and "fallback" not in corpus.description
    clip = corpus.load_clip(1)
    assert clip.shape == (1, 4, 32, 32) and clip.dtype == np.float32 and 0.0 <= clip.min() < clip.max() <= 1.0
    assert len(list(cache.glob("*.npz"))) == 2 and not list(cache.glob(".tmp-*"))

    def broken(*args, **kwargs):
        raise AssertionError("a cached clip was aligned again")

    monkeypatch.setattr(fourdme_face, "prepare_face_clip", broken)
    again = open_dataset("4dme", root, frames=4, size=32, face=FACE, progress=False)
    np.testing.assert_array_equal(again.load_clip(1), clip)
    assert again.fingerprint == corpus.fingerprint
    plain = open_dataset("4dme", root, frames=4, size=32, progress=False)
    assert "face_source" not in plain.index and plain.fingerprint != corpus.fingerprint


def test_a_settings_change_realigns_and_a_crop_of_size_is_not_resized(root, cache, monkeypatch):
    calls = counting(monkeypatch)
    open_dataset("4dme", root, frames=4, size=32, face=FACE, progress=False)
    corpus = open_dataset("4dme", root, frames=2, size=40, strategy="onset_apex", face={**FACE, "crop": 40}, progress=False)
    assert len(calls) == 4 and len(list(cache.glob("*.npz"))) == 4 and not list(cache.glob(".tmp-*"))
    from mer4d.data.datasets.fourdme import SPEC
    from mer4d.recipes.schema import FaceCfg

    clips = fourdme_face.FaceClips(corpus.index, SPEC.modality("gray"), FaceCfg(**{**FACE, "crop": 40}), progress=False)
    stored = fourdme_face.FACES.load(clips.keys[0])
    assert len(calls) == 4
    # onset_apex: frame 0 is the onset, exactly the cached crop (no resize when crop == size)
    np.testing.assert_allclose(corpus.load_clip(0)[0, 0], stored["frames"][0, 0] / 255.0, atol=1e-6)
    assert stored["frames"].shape[1:] == (1, 40, 40) and list(stored["numbers"]) == [n for n, _ in list_frames(corpus.index["gray_dir"].iat[0])]


def test_an_unreadable_cache_file_is_recomputed_with_a_warning(root, cache, monkeypatch, caplog):
    corpus = open_dataset("4dme", root, frames=4, size=32, face=FACE, progress=False)
    first = corpus.load_clip(0)
    for path in cache.glob("*.npz"):
        path.write_bytes(path.read_bytes()[:100])  # truncated, as after a full disk
    calls = counting(monkeypatch)
    with caplog.at_level(logging.WARNING):
        again = open_dataset("4dme", root, frames=4, size=32, face=FACE, progress=False)
    assert len(calls) == 2 and caplog.text.count("cannot be read") == 2
    np.testing.assert_array_equal(again.load_clip(0), first)


def test_clips_without_a_face_fall_back_and_are_counted(root, tmp_path, cache, caplog):
    copy = shutil.copytree(root, tmp_path / "copy")
    folder = sorted((copy / "gray_micro").glob("*/*"))[0]
    (folder / "landmarks.csv").unlink()
    for _, path in list_frames(folder):  # this clip shows no face at all
        cv2.imwrite(str(path), np.full((128, 128), 40, np.uint8))
    with caplog.at_level(logging.WARNING):
        corpus = open_dataset("4dme", copy, frames=4, size=32, face=FACE, progress=False)
    blank = f"{folder.parent.name}/{folder.name}"
    assert corpus.index.set_index("clip_id")["face_source"].to_dict() == {blank: "fallback", corpus.index["clip_id"].iat[1]: "dataset"}
    assert ", face fallback on 1 clip(s)" in corpus.description
    assert blank in caplog.text and "fallback" in caplog.text
    assert corpus.load_clip(0).shape == (1, 4, 32, 32)
    with pytest.raises(FaceNotFoundError, match=f"{blank}.*on_missing: fallback"):
        open_dataset("4dme", copy, frames=4, size=32, face={**FACE, "on_missing": "error", "crop": 50}, progress=False)


def test_recipe_settings_reach_the_loader(root, cache):
    recipe = load_recipe("recipes/4dme_res3d.yaml", [f"dataset.root={root}", "preprocess.face.enabled=true", "preprocess.face.crop=40",
                                                     "preprocess.size=24", "sampling.frames=4"]).recipe
    corpus = load_corpus(recipe)
    assert list(corpus.index["face_source"]) == ["dataset", "dataset"] and corpus.load_clip(0).shape[-2:] == (24, 24)
    with pytest.raises(RecipeError, match="dataset.params.face: set preprocess.face"):
        load_corpus(load_recipe("recipes/4dme_res3d.yaml", [f"dataset.root={root}", "dataset.params.face={}"]).recipe)
    with pytest.raises(DataError, match="image frames"):
        open_dataset("4dme", root, modality="depth", face=FACE, progress=False)
    with pytest.raises(RecipeError, match="crop"):
        open_dataset("4dme", root, face={**FACE, "crop": 4}, progress=False)
    toy = load_recipe("recipes/toy_smoke.yaml", ["preprocess.face.enabled=true"]).recipe
    with pytest.raises(RecipeError, match="no face alignment"):
        load_corpus(toy)


def test_the_fingerprint_follows_the_settings_that_shape_the_clips(root, cache):
    base = open_dataset("4dme", root, face=FACE, size=32, progress=False).fingerprint
    assert open_dataset("4dme", root, face=FACE, size=32, progress=False).fingerprint == base
    assert open_dataset("4dme", root, face={**FACE, "crop": 64}, size=32, progress=False).fingerprint != base
    assert open_dataset("4dme", root, face=FACE, size=24, progress=False).fingerprint != base
    assert open_dataset("4dme", root, size=32, progress=False).fingerprint != base  # no face alignment: other pixels
