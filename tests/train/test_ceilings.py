"""Ceilings of the 4DME task: the rule table applied to what a method could know."""

import numpy as np
import pandas as pd
import pytest

from mer4d.labels.au_emotion import FOURDME_EMOTIONS
from mer4d.metrics.multilabel import multilabel_scores
from mer4d.train.ceilings import ceiling_metrics

CLASSES = FOURDME_EMOTIONS


def multi_hot(labels: list[tuple[str, ...]]) -> np.ndarray:
    return np.array([[float(c in row) for c in CLASSES] for row in labels], np.float32)


def index(aus, static, visible=None) -> pd.DataFrame:
    out = pd.DataFrame({"aus": aus, "aus_static": static})
    if visible is not None:
        out["visible_aus"] = visible
    return out


def test_label_ceiling_is_one_when_the_labels_follow_the_rules_and_motion_loses_the_static_aus():
    # clip 0: AU1+2 moving with AU12 held (the paper's Fig. 6) -> Surprise+Positive; clip 1: AU4 -> Negative;
    # clip 2: AU14 -> Repression; clip 3: AU6 alone (dependent) -> Others
    truth = multi_hot([("Surprise", "Positive"), ("Negative",), ("Repression",), ("Others",)])
    idx = index([["AU1", "AU2"], ["AU4"], ["AU14"], ["AU6"]], [["AU12"], [], [], []])
    got = ceiling_metrics(idx, truth, CLASSES, "emotion_multilabel")
    assert got["ceiling_label_macro_f1"] == pytest.approx(1.0)
    # without the static AU12 clip 0 reads Surprise only: Positive is never predicted (F1 0), the rest stay right
    motion = multi_hot([("Surprise",), ("Negative",), ("Repression",), ("Others",)])
    assert got["ceiling_motion_macro_f1"] == pytest.approx(multilabel_scores(truth, motion, list(CLASSES))["macro_f1"])
    assert got["ceiling_motion_macro_f1"] == pytest.approx(0.8)
    assert "ceiling_views_macro_f1" not in got  # no planted visibility: real data


def test_views_ceiling_unions_the_views_of_the_run():
    truth = multi_hot([("Positive",), ("Negative",)])
    visible = [{"left": ("L12",), "front": ()}, {"left": (), "front": ("AU4",)}]
    idx = index([["L12"], ["AU4"]], [[], []], visible)
    both = ceiling_metrics(idx, truth, CLASSES, "emotion_multilabel", ("left", "front"))
    assert both["ceiling_views_macro_f1"] == pytest.approx(both["ceiling_motion_macro_f1"])
    front = ceiling_metrics(idx, truth, CLASSES, "emotion_multilabel", ("front",))
    # the front view misses L12: clip 0 reads Others (nothing seen), so Positive F1 is 0 and Others is a false positive
    expected = multilabel_scores(truth, multi_hot([("Others",), ("Negative",)]), list(CLASSES))["macro_f1"]
    assert front["ceiling_views_macro_f1"] == pytest.approx(expected)
    assert front["ceiling_views_macro_f1"] < both["ceiling_views_macro_f1"]


def test_no_ceiling_for_other_tasks():
    idx = index([["AU4"]], [[]])
    assert ceiling_metrics(idx, np.array([0]), ("happiness", "others"), "emotion") == {}
