"""The multi-label path (4DME emotions, AU detection) through the runner, on a hand-made corpus."""

import numpy as np
import pandas as pd
import pytest

from mer4d.data.corpus import Corpus
from mer4d.recipes.schema import Recipe
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker


def corpus_with_multilabels() -> Corpus:
    rng = np.random.default_rng(0)
    n = 12
    emotions = [["pos"], ["neg"], ["pos", "sur"], ["sur"]] * 3
    index = pd.DataFrame({
        "dataset": "fake", "subject": np.repeat(["a", "b", "c"], 4), "clip_id": [f"c{i}" for i in range(n)], "kind": "micro",
        "fps": 30.0, "onset": 0, "apex": 2, "offset": 4, "emotions": emotions,
    })
    clips = rng.random((n, 1, 4, 8, 8), dtype=np.float32)
    return Corpus("fake", index, ("pos", "neg", "sur"), lambda i: clips[i], "f" * 16)


def test_multilabel_task_trains_with_bce_and_reports_per_class_f1_and_accuracy():
    recipe = Recipe.model_validate({
        "name": "ml", "dataset": {"name": "fake", "task": "emotion_multilabel"},
        "model": {"name": "tiny3d", "params": {"width": 4}}, "train": {"epochs": 1, "loss": "bce", "batch_size": 4},
    })
    result = run_protocol(recipe, corpus_with_multilabels(), MemoryTracker(), progress=False)
    assert result.confusion is None and len(result.table) == 12
    for c in ("pos", "neg", "sur"):
        assert {f"f1_{c}", f"acc_{c}"} <= set(result.metrics)
        assert set(result.table[f"pred_{c}"]) <= {0, 1}
        expected_acc = (result.table[f"pred_{c}"] == result.table[f"true_{c}"]).mean()
        assert result.metrics[f"acc_{c}"] == pytest.approx(expected_acc)
    assert result.metrics["macro_f1"] == pytest.approx(np.mean([result.metrics[f"f1_{c}"] for c in ("pos", "neg", "sur")]))
    assert list(result.table["truth"][:3]) == ["pos", "neg", "pos+sur"]
