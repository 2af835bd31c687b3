"""AU detection targets: sides merged, AUs with more than ten clips, augmented copies not counted."""

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.train.targets import au_classes, encode_targets


def index_of(aus_lists, augmented_from=None):
    n = len(aus_lists)
    table = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "aus": aus_lists})
    if augmented_from is not None:
        table["augmented_from"] = augmented_from
    return table


def test_au_classes_merge_sides_and_keep_those_above_ten():
    aus = [["AU12"]] * 6 + [["L12"]] * 3 + [["R12", "AU4"]] * 2 + [["AU4"]] * 9 + [["AU1", "AU2"]] * 3
    # AU12: 6 + 3 + 2 = 11 clips (> 10); AU4: 2 + 9 = 11; AU1/AU2: 3 each
    assert au_classes(index_of(aus)) == ("AU4", "AU12")
    # a clip with L12 and R12 counts once for AU12
    assert au_classes(index_of([["L12", "R12"]] * 11)) == ("AU12",)


def test_augmented_copies_do_not_count_and_no_class_is_an_error():
    aus = [["AU4"]] * 11 + [["AU4"]] * 11
    assert au_classes(index_of(aus, augmented_from=[-1] * 11 + list(range(11)))) == ("AU4",)
    with pytest.raises(DataError, match="no AU occurs in more than 10 clips"):
        au_classes(index_of(aus[:10]))


def test_au_targets_are_multi_hot_over_merged_aus():
    targets = encode_targets(index_of([["L12", "AU4"], ["AU25"], ["R12", "L12"]]), "au", ("AU4", "AU12"))
    np.testing.assert_array_equal(targets, [[1, 1], [0, 0], [0, 1]])


def test_a_fusion_model_told_the_wrong_label_kind_is_refused_before_training():
    from conftest import TOY_RECIPE

    from mer4d.core.errors import RecipeError
    from mer4d.pipeline import load_corpus
    from mer4d.recipes import load_recipe
    from mer4d.recipes.schema import ModelCfg
    from mer4d.train.runner import run_protocol
    from mer4d.train.tracker import MemoryTracker

    recipe = load_recipe(TOY_RECIPE).recipe
    recipe = recipe.model_copy(update={"model": ModelCfg(name="ccdn", params={"multilabel": True, "width": 0.125, "channels": 8})})
    with pytest.raises(RecipeError, match="model.params.multilabel=True but dataset.task=emotion is single-label"):
        run_protocol(recipe, load_corpus(recipe), MemoryTracker(), progress=False)


def test_emotion_rows_always_get_a_label_but_au_rows_may_stay_empty():
    from mer4d.metrics import binarize
    from mer4d.train.targets import prediction_table

    scores = np.array([[0.2, 0.4, 0.1], [0.7, 0.1, 0.6], [0.1, 0.1, 0.2]])
    np.testing.assert_array_equal(binarize(scores, at_least_one=True), [[0, 1, 0], [1, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(binarize(scores), [[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    index = pd.DataFrame({"clip_id": ["a", "b", "c"], "subject": ["s"] * 3})
    targets = np.eye(3, dtype=np.float32)
    emotions = prediction_table(index, "f", targets, scores, ("x", "y", "z"), "emotion_multilabel")
    aus = prediction_table(index, "f", targets, scores, ("x", "y", "z"), "au")
    assert list(emotions["prediction"]) == ["y", "x+z", "z"] and list(aus["prediction"]) == ["", "x+z", ""]


def test_mirroring_is_refused_for_multi_view_models():
    from conftest import TOY_RECIPE

    from mer4d.core.errors import RecipeError
    from mer4d.pipeline import load_corpus
    from mer4d.recipes import load_recipe
    from mer4d.recipes.schema import ModelCfg
    from mer4d.train.runner import run_protocol
    from mer4d.train.tracker import MemoryTracker

    recipe = load_recipe(TOY_RECIPE, ["train.hflip=true"]).recipe
    recipe = recipe.model_copy(update={"model": ModelCfg(name="ccdn", params={"width": 0.125, "channels": 8})})
    with pytest.raises(RecipeError, match="train.hflip mirrors every view"):
        run_protocol(recipe, load_corpus(recipe), MemoryTracker(), progress=False)


def test_a_model_whose_declared_input_has_other_dimensions_than_the_samples_is_refused():
    from conftest import TINY, TOY_RECIPE

    from mer4d.core.errors import RecipeError
    from mer4d.pipeline import load_corpus
    from mer4d.recipes import load_recipe
    from mer4d.recipes.schema import ModelCfg
    from mer4d.train.runner import run_protocol
    from mer4d.train.tracker import MemoryTracker

    recipe = load_recipe(TOY_RECIPE, list(TINY)).recipe
    recipe = recipe.model_copy(update={"model": ModelCfg(name="googlenet", params={"width": 0.125})})
    with pytest.raises(RecipeError, match=r"model 'googlenet' eats batches \(B, C, H, W\), i\.e\. samples \(C, H, W\), but this corpus gives samples of shape \(1, 8, 32, 32\)"):
        run_protocol(recipe, load_corpus(recipe), MemoryTracker(), progress=False)
