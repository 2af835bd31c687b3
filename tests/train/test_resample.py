"""``train.resample: uniform``: each training epoch draws the classes equally often, from the fold's
training clips only, the same draws for the same seed; multi-label tasks refuse it.

The tolerance: an epoch draws n clips with replacement (n = the training clips), each of one of the
K classes present in training with probability 1/K, so a class's count is Binomial(n, 1/K) with
sd = sqrt(n (1/K) (1 - 1/K)). A count must lie within 4 sd of n/K (two-sided chance of a miss for
one class under 1e-4 if the sampler is right; the draws are seeded, so the test is deterministic).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import RecipeError
from mer4d.data.corpus import Corpus
from mer4d.recipes.schema import Recipe, TrainCfg
from mer4d.train.clipset import ClipSet
from mer4d.train.engine import make_loader
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker

CLASSES = ("neg", "pos", "sur", "other")
TRAIN_COUNTS = {"neg": 30, "pos": 90, "sur": 180}  # the training fold: imbalanced, no "other"
ELSEWHERE = {"neg": 300, "other": 60}  # rows outside it: were they counted, "neg" would be drawn far less often


def corpus_and_fold() -> tuple[Corpus, np.ndarray, list[int]]:
    """A corpus whose rows 0..299 are the training fold, then rows of other folds; and a load log."""
    labels = [c for c, n in TRAIN_COUNTS.items() for _ in range(n)] + [c for c, n in ELSEWHERE.items() for _ in range(n)]
    index = pd.DataFrame({"dataset": "fake", "subject": [f"s{i % 7}" for i in range(len(labels))], "clip_id": [f"c{i}" for i in range(len(labels))],
                          "kind": "micro", "fps": 30.0, "onset": 0, "apex": 0, "offset": 1, "emotion": labels})
    clips = np.zeros((len(labels), 1, 2, 4, 4), dtype=np.float32)
    loads: list[int] = []
    corpus = Corpus("fake", index, CLASSES, lambda i: loads.append(int(i)) or clips[i], "f" * 16)
    return corpus, np.arange(sum(TRAIN_COUNTS.values())), loads


def targets_of(corpus: Corpus) -> np.ndarray:
    return np.array([CLASSES.index(e) for e in corpus.index["emotion"]])


def one_epoch(resample: str, seed: int) -> tuple[np.ndarray, list[int]]:
    """The class ids of one training epoch's batches, and the corpus rows it loaded."""
    corpus, train, loads = corpus_and_fold()
    loader = make_loader(ClipSet(corpus, train, targets_of(corpus)), TrainCfg(resample=resample, batch_size=64), seed, train=True)
    drawn = np.concatenate([targets.numpy() for _, targets in loader])
    return drawn, loads


def four_sd(n: int, k: int) -> float:
    return 4 * math.sqrt(n * (1 / k) * (1 - 1 / k))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_an_epoch_draws_each_training_class_equally_often_within_four_sd(seed):
    drawn, loads = one_epoch("uniform", seed)
    n, k = sum(TRAIN_COUNTS.values()), len(TRAIN_COUNTS)
    assert len(drawn) == n  # an epoch is as long as the training fold
    counts = np.bincount(drawn, minlength=len(CLASSES))
    tolerance = four_sd(n, k)  # 300 draws, 3 classes: 100 +- 32.7
    for name in TRAIN_COUNTS:
        assert abs(counts[CLASSES.index(name)] - n / k) <= tolerance, f"seed {seed}: class {name} drawn {counts[CLASSES.index(name)]} times, expected {n / k:.0f} +- {tolerance:.1f}"
    assert counts[CLASSES.index("other")] == 0  # a class outside the training fold is never drawn
    assert set(loads) <= set(range(n)), "clips outside the training fold were drawn"


def test_without_resampling_the_epoch_keeps_the_fold_frequencies_which_the_tolerance_rejects():
    drawn, loads = one_epoch("none", 0)
    counts = np.bincount(drawn, minlength=len(CLASSES))
    assert counts[:3].tolist() == list(TRAIN_COUNTS.values()) and sorted(loads) == list(range(300))  # each clip once
    n, k = sum(TRAIN_COUNTS.values()), len(TRAIN_COUNTS)
    assert abs(counts[0] - n / k) > four_sd(n, k)  # the uniform test above would catch a sampler that did nothing


def test_uniform_draws_are_the_same_for_the_same_seed_and_differ_for_another():
    def rows(seed: int, epochs: int = 2) -> list[list[int]]:
        corpus, train, loads = corpus_and_fold()
        loader = make_loader(ClipSet(corpus, train, targets_of(corpus)), TrainCfg(resample="uniform", batch_size=64), seed, train=True)
        out = []
        for _ in range(epochs):
            start = len(loads)
            for _batch in loader:
                pass
            out.append(loads[start:])
        return out

    first = rows(7)
    assert first == rows(7)
    assert first != rows(8)
    assert first[0] != first[1]  # every epoch draws afresh


def test_multilabel_tasks_refuse_uniform_resampling():
    corpus, train, _ = corpus_and_fold()
    multi_hot = np.eye(len(CLASSES), dtype=np.float32)[targets_of(corpus)]
    message = "train.resample=uniform balances single-label classes; it does not apply to multi-label tasks"
    with pytest.raises(RecipeError, match=message):
        make_loader(ClipSet(corpus, train, multi_hot), TrainCfg(resample="uniform"), 0, train=True)
    # evaluation loaders never resample, whatever the task
    assert len(list(make_loader(ClipSet(corpus, train[:8], multi_hot), TrainCfg(resample="uniform"), 0, train=False))) == 1
    emotions = [["neg"], ["pos"], ["neg", "sur"], ["sur"]] * 2
    index = pd.DataFrame({"dataset": "fake", "subject": ["a"] * 4 + ["b"] * 4, "clip_id": [f"c{i}" for i in range(8)], "kind": "micro",
                          "fps": 30.0, "onset": 0, "apex": 0, "offset": 1, "emotions": emotions})
    small = Corpus("fake", index, CLASSES[:3], lambda i: np.zeros((1, 2, 4, 4), np.float32), "f" * 16)
    recipe = Recipe.model_validate({"name": "r", "dataset": {"name": "fake", "task": "emotion_multilabel"}, "model": {"name": "tiny3d", "params": {"width": 1}},
                                    "train": {"epochs": 1, "loss": "bce", "resample": "uniform", "device": "cpu"}})
    with pytest.raises(RecipeError, match=message):
        run_protocol(recipe, small, MemoryTracker(), progress=False)
