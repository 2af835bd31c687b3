"""Classic (scikit-learn) registry entries: fit/predict_scores contract and LBP-TOP+SVM numerics."""

import numpy as np
import pytest
import torch
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.models import MODELS, build_model, model_info
from mer4d.preprocess.lbptop import lbp_top

CLASSIC = [n for n in MODELS.names() if model_info(n).kind == "classic"]


def _clips(n=24, seed=0):
    """Two textures: smooth noise vs fine noise, so LBP histograms separate them."""
    rng = np.random.default_rng(seed)
    clips = rng.random((n, 1, 6, 20, 20)).astype(np.float32)
    labels = np.arange(n) % 2
    for k in np.flatnonzero(labels == 0):  # class 0: blockwise constant -> many flat (uniform) codes
        clips[k, 0] = np.repeat(np.repeat(clips[k, 0, :, ::4, ::4], 4, axis=1), 4, axis=2)
    return clips, labels


def test_lbptop_svm_is_registered_as_classic():
    assert "lbptop_svm" in CLASSIC
    for name in CLASSIC:  # the classic contract, not a torch module
        model = build_model(name, num_classes=2, in_channels=1)
        assert not isinstance(model, torch.nn.Module) and all(callable(getattr(model, m)) for m in ("features", "fit", "predict_scores"))
        assert not model_info(name).learns_aus and model_info(name).input.layout == "B C T H W"


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_scores_have_the_contract_shape_and_range(name):
    clips, labels = _clips()
    multi = np.stack([labels, 1 - labels, np.zeros_like(labels)], axis=1).astype(np.float32)
    model = build_model(name, num_classes=3, in_channels=1)
    model.fit(model.features(clips), multi)
    scores = model.predict_scores(model.features(clips[:5]))
    assert scores.shape == (5, 3) and np.all((scores >= 0) & (scores <= 1))
    assert np.all(scores[:, 2] < 0.01)  # a label never present in training is scored absent, not 0.5


def test_lbptop_svm_matches_sklearn_on_the_same_features():
    clips, labels = _clips()
    model = build_model("lbptop_svm", num_classes=2, in_channels=1, blocks=[2, 2])
    feats = np.stack([lbp_top(c[0], (2, 2), (1, 1, 2), 8) for c in clips])
    np.testing.assert_array_equal(model.features(clips), feats)
    model.fit(feats[:16], labels[:16])
    reference = OneVsRestClassifier(LinearSVC(C=1000.0, max_iter=20000, random_state=0)).fit(feats[:16], labels[:16])
    d = reference.decision_function(feats[16:])
    np.testing.assert_allclose(model.decision(feats[16:])[:, 1], d, rtol=1e-6, atol=1e-8)
    assert (model.predict_scores(feats[16:]).argmax(1) == reference.predict(feats[16:])).all()
    assert (model.predict_scores(feats[16:]).argmax(1) == labels[16:]).mean() == 1.0  # the textures are separable


def test_multilabel_scores_are_sigmoid_of_the_decisions():
    clips, labels = _clips()
    multi = np.stack([labels, 1 - labels], axis=1)
    model = build_model("lbptop_svm", num_classes=2, in_channels=1)
    feats = model.features(clips)
    model.fit(feats, multi)
    d = model.decision(feats)
    np.testing.assert_allclose(model.predict_scores(feats), 1 / (1 + np.exp(-d)))


def test_lbptop_svm_refuses_colour_clips_and_bad_options():
    with pytest.raises(RecipeError, match="gray clips"):
        build_model("lbptop_svm", num_classes=2, in_channels=3)
    with pytest.raises(RecipeError, match="class_weight"):
        build_model("lbptop_svm", num_classes=2, in_channels=1, class_weight="auto")
    model = build_model("lbptop_svm", num_classes=2, in_channels=1)
    with pytest.raises(ShapeError, match="1 channel"):
        model.features(np.zeros((2, 3, 6, 20, 20)))
