"""AU-graph through the runner: AU count from the data, graph from the training fold only, joint loss."""

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import RecipeError
from mer4d.data.corpus import Corpus
from mer4d.losses import au_joint
from mer4d.models import au_graph
from mer4d.models.registry import build_model, check_model_params
from mer4d.recipes.schema import Recipe
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker


def corpus() -> Corpus:
    rng = np.random.default_rng(0)
    n = 36
    aus = [["L12", "R12"], ["4", "7"], ["12"], ["4"]] * 9  # AU12 and AU4 in 18 clips each, AU7 in 9 (not a class)
    emotions = [["Positive"], ["Negative"], ["Positive"], ["Negative"]] * 9
    index = pd.DataFrame({
        "dataset": "fake", "subject": np.repeat(["a", "b", "c"], 12), "clip_id": [f"c{i}" for i in range(n)], "kind": "micro",
        "fps": 60.0, "onset": 0, "apex": 2, "offset": 4, "emotions": emotions, "aus": aus,
    })
    clips = rng.random((n, 1, 4, 32, 32), dtype=np.float32)
    return Corpus("fake", index, ("Positive", "Negative"), lambda i: clips[i], "f" * 16)


def test_au_graph_gets_the_data_au_count_a_training_fold_graph_and_the_joint_loss(monkeypatch):
    graphs, epochs = [], []
    original_set, original_loss = au_graph.AUGraph.set_au_cooccurrence, au_joint.au_joint_loss

    def spy_set(self, table):
        graphs.append((self.num_aus, np.asarray(table).copy()))
        return original_set(self, table)

    def spy_loss(logits, au_logits, targets, au_targets, loss_fn, epoch, alpha, alpha_step):
        epochs.append(epoch)
        assert au_targets.shape == au_logits.shape == (len(targets), 2)
        return original_loss(logits, au_logits, targets, au_targets, loss_fn, epoch, alpha, alpha_step)

    monkeypatch.setattr(au_graph.AUGraph, "set_au_cooccurrence", spy_set)
    monkeypatch.setattr(au_joint, "au_joint_loss", spy_loss)
    recipe = Recipe.model_validate({
        "name": "g", "dataset": {"name": "fake", "task": "emotion_multilabel"}, "protocol": {"kind": "loso"},
        "model": {"name": "au_graph", "params": {"width": 4, "sca_channels": 4, "gcn_hidden": 4}},
        "train": {"epochs": 2, "loss": "bce", "batch_size": 12},
    })
    result = run_protocol(recipe, corpus(), MemoryTracker(), progress=False)
    assert len(result.table) == 36
    assert [k for k, _ in graphs] == [2, 2, 2]  # AU4 and AU12 have more than 10 clips, AU7 does not
    for table in (t for _, t in graphs):
        assert len(table) == 24  # the two training subjects' clips only, never the test subject's
        np.testing.assert_array_equal(table.sum(axis=0), [12, 12])  # [AU4, AU12] counts of 24 clips
    assert sorted(set(epochs)) == [1, 2]


def test_num_aus_is_set_by_the_runner_not_the_recipe():
    with pytest.raises(RecipeError, match="num_aus"):
        check_model_params("au_graph", {"num_aus": 3})
    with_aus = build_model("res3d", num_classes=2, in_channels=1, num_aus=3, width=4)  # ignored by models without AUs
    plain = build_model("res3d", num_classes=2, in_channels=1, width=4)
    assert [p.shape for p in with_aus.parameters()] == [p.shape for p in plain.parameters()]
