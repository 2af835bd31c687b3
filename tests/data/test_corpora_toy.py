"""The registered "toy" dataset: Corpus fields, fingerprints and the shuffled-label control."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mer4d.core.errors import DataError, RecipeError
from mer4d.data.corpus import Corpus
from mer4d.data.datasets import DATASETS
from mer4d.pipeline import open_dataset


def load_toy(root=None, *, seed=0, shuffle_labels=False, frames=8, size=32, **params) -> Corpus:
    return open_dataset("toy", root, seed=seed, shuffle_labels=shuffle_labels, frames=frames, size=size, progress=False, **params)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_toy(seed=0)


@pytest.fixture(scope="module")
def shuffled() -> Corpus:
    return load_toy(seed=0, shuffle_labels=True)


def test_registered_under_toy():
    assert "toy" in DATASETS
    spec = DATASETS.get("toy")
    assert spec.scan is None and spec.title.startswith("Built-in toy"), "the title is what 'mer4d data list' shows"


def test_corpus_fields(corpus):
    assert corpus.name == "toy"
    assert corpus.classes == ("surprise", "happiness", "disgust")
    assert len(corpus) == 108
    assert list(corpus.index.index) == list(range(108))
    assert set(corpus.index["emotion"]) == set(corpus.classes)
    assert re.fullmatch(r"[0-9a-f]{16}", corpus.fingerprint)
    assert corpus.description == "built-in toy generator: 6 subjects, 108 clips, 3 classes"


def test_load_clip_gives_float32_copies(corpus):
    clip = corpus.load_clip(5)
    assert clip.shape == (1, 8, 32, 32) and clip.dtype == np.float32
    clip[:] = -1.0  # a caller's in-place transform must not reach the corpus
    assert corpus.load_clip(5).min() >= 0.0


def test_load_clip_out_of_range(corpus):
    with pytest.raises(DataError, match="out of range"):
        corpus.load_clip(108)
    with pytest.raises(DataError, match="out of range"):
        corpus.load_clip(-1)


def test_params_reach_the_generator():
    small = load_toy(seed=3, subjects=2, clips_per_class=2, num_classes=5, frames=6, size=24)
    assert len(small) == 20 and small.classes[-1] == "sadness"
    assert small.load_clip(0).shape == (1, 6, 24, 24)
    assert "2 subjects, 20 clips, 5 classes" in small.description


def test_fingerprint_is_stable_and_tracks_data(corpus, shuffled):
    assert load_toy(seed=0).fingerprint == corpus.fingerprint
    assert load_toy(seed=1).fingerprint != corpus.fingerprint
    assert shuffled.fingerprint != corpus.fingerprint
    assert load_toy(seed=1, shuffle_labels=True).fingerprint != shuffled.fingerprint


def test_shuffle_keeps_counts_and_clips_but_changes_labels(corpus, shuffled):
    before, after = corpus.index["emotion"], shuffled.index["emotion"]
    assert after.value_counts().to_dict() == before.value_counts().to_dict()
    assert (after != before).mean() > 0.3
    assert np.array_equal(shuffled.load_clip(0), corpus.load_clip(0))
    assert shuffled.index.drop(columns="emotion").equals(corpus.index.drop(columns="emotion"))
    assert "labels SHUFFLED (control)" in shuffled.description
    assert load_toy(seed=0, shuffle_labels=True).index["emotion"].equals(after)  # seeded


def test_root_is_refused():
    with pytest.raises(DataError, match="generated in code and takes no root"):
        load_toy(Path("/data/toy"))


def test_bad_generator_argument_is_a_data_error():
    with pytest.raises(DataError, match="subjects"):
        load_toy(subjects=1)
    with pytest.raises(RecipeError, match="shuffle_labels"):
        load_toy(shuffle_labels="yes")
    with pytest.raises(RecipeError, match="unknown option 'subject'"):
        load_toy(subject=3)
