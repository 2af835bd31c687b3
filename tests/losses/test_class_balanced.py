"""Class-balanced losses (algorithms.md §11) against hand computations and float64 naive loops."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import yaml
from torch.nn import functional as F

from mer4d.core.errors import RecipeError
from mer4d.losses import ClassBalancedLoss, class_balanced_loss, effective_number_weights
from mer4d.recipes import load_recipe
from mer4d.recipes.schema import LossCfg, TrainCfg
from mer4d.train.engine import make_loss
from mer4d.train.runner import check_loss_fits


def _data(seed: int = 0, b: int = 6, k: int = 4):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, k, generator=g, dtype=torch.float64) * 3
    targets = torch.randint(0, k, (b,), generator=g)
    return logits, targets


def test_effective_number_weights_by_hand():
    # counts 1 and 3 at beta 0.5: 1/E = 0.5/0.5 = 1 and 0.5/0.875 = 4/7; normalised to sum 2
    w = effective_number_weights(np.array([1, 3]), 0.5)
    np.testing.assert_allclose(w, np.array([1.0, 4 / 7]) * 2 / (1 + 4 / 7))
    np.testing.assert_allclose(effective_number_weights(np.array([5, 50, 500]), 0.0), [1, 1, 1])  # beta 0: no reweighting
    counts = np.array([10, 40, 200])
    inverse = (1 / counts) * 3 / (1 / counts).sum()
    np.testing.assert_allclose(effective_number_weights(counts, 1 - 1e-9), inverse, rtol=1e-5)  # beta -> 1: inverse frequency
    near = effective_number_weights(np.array([100, 200, 500]), 0.9)  # saturates: E_n -> 10, nearly equal weights
    assert near.max() / near.min() < 1.001
    absent = effective_number_weights(np.array([4, 0, 2]), 0.99)
    assert absent[1] == 0 and absent.sum() == pytest.approx(2)
    with pytest.raises(RecipeError, match=r"beta must be in \[0, 1\), got 1.0"):
        effective_number_weights(counts, 1.0)


def test_softmax_form_is_the_batch_mean_of_weighted_ce_not_torchs_weighted_mean():
    logits, y = _data()
    w = np.array([0.5, 2.0, 1.0, 0.5])
    loss = ClassBalancedLoss(w, "softmax")(logits, y)
    log_p = torch.log_softmax(logits, 1)
    naive = sum(-w[int(t)] * float(log_p[i, t]) for i, t in enumerate(y)) / len(y)
    assert float(loss) == pytest.approx(naive, rel=1e-6)
    torch_mean = F.cross_entropy(logits, y, weight=torch.as_tensor(w))  # divides by the sum of w[y]
    assert float(torch_mean) != pytest.approx(naive, rel=1e-3)


def test_sigmoid_form_is_weighted_per_class_bce_on_the_logits():
    logits, y = _data(1)
    w = np.array([1.5, 0.5, 1.0, 1.0])
    loss = ClassBalancedLoss(w, "sigmoid")(logits, y)
    naive = 0.0
    for i in range(len(y)):
        for k in range(logits.shape[1]):
            p = 1 / (1 + np.exp(-float(logits[i, k])))
            naive += -w[int(y[i])] * (np.log(p) if k == int(y[i]) else np.log(1 - p))
    assert float(loss) == pytest.approx(naive / len(y), rel=1e-5)
    softmax_bce = F.binary_cross_entropy(torch.softmax(logits, 1), F.one_hot(y, 4).double())  # the reference code's "softmax"
    assert float(loss) != pytest.approx(float(softmax_bce), rel=1e-2)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_sigmoid_form_matches_a_naive_float64_loop(gamma):
    logits, y = _data(2)
    w = np.array([1.0, 2.0, 0.5, 0.5])
    loss = ClassBalancedLoss(w, "focal", "sigmoid", gamma)(logits.float(), y)
    naive = 0.0
    for i in range(len(y)):
        for k in range(logits.shape[1]):
            p = 1 / (1 + np.exp(-float(logits[i, k])))
            p_t = p if k == int(y[i]) else 1 - p
            naive += -w[int(y[i])] * (1 - p_t) ** gamma * np.log(p_t)
    assert float(loss) == pytest.approx(naive / len(y), rel=1e-4)


def test_focal_with_gamma_zero_is_the_sigmoid_form_and_stays_finite_at_large_logits():
    logits, y = _data(3)
    w = np.array([1.0, 2.0, 0.5, 0.5])
    assert float(ClassBalancedLoss(w, "focal", "sigmoid", 0.0)(logits, y)) == pytest.approx(float(ClassBalancedLoss(w, "sigmoid")(logits, y)))
    big = torch.tensor([[80.0, -80.0, 0.0], [-90.0, 90.0, 5.0]], requires_grad=True)
    loss = ClassBalancedLoss(np.ones(3), "focal", "sigmoid", 2.0)(big, torch.tensor([1, 1]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(big.grad).all()
    # by hand: clip 1 is confidently wrong twice ((1 - p_t)^2 = 1, -log p_t = 80 each) plus 0.25 ln 2 at z = 0;
    # clip 2 is right at +-90 (~0) and has z = 5 on a negative class: p_t = sigmoid(-5), (1 - p_t)^2 (-log p_t)
    p_t = 1 / (1 + np.exp(5.0))
    assert float(loss) == pytest.approx((80 + 80 + 0.25 * np.log(2) + (1 - p_t) ** 2 * -np.log(p_t)) / 2, rel=1e-5)


def test_focal_softmax_form():
    logits, y = _data(4)
    w = np.array([0.7, 1.3, 1.0, 1.0])
    loss = ClassBalancedLoss(w, "focal", "softmax", 2.0)(logits, y)
    p = torch.softmax(logits, 1)
    naive = sum(-w[int(t)] * (1 - float(p[i, t])) ** 2 * np.log(float(p[i, t])) for i, t in enumerate(y)) / len(y)
    assert float(loss) == pytest.approx(naive, rel=1e-6)


def test_multilabel_sigmoid_weights_each_class_by_its_positives():
    targets = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32)
    loss = class_balanced_loss("class_balanced", "sigmoid", 0.9, 2.0, targets, 3)
    w = effective_number_weights(np.array([3, 1, 2]), 0.9)
    np.testing.assert_allclose(loss.weight.numpy(), w, rtol=1e-6)
    logits = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0], [2.0, 0.3, 0.1], [-1.0, -1.0, 3.0]])
    terms = F.binary_cross_entropy_with_logits(logits, torch.as_tensor(targets), reduction="none").numpy()
    assert float(loss(logits, torch.as_tensor(targets))) == pytest.approx(float((terms * w).sum(1).mean()), rel=1e-5)
    with pytest.raises(RecipeError, match="variant: sigmoid"):
        class_balanced_loss("class_balanced", "softmax", 0.9, 2.0, targets, 3)


def test_make_loss_weights_from_the_training_targets_only():
    targets = np.array([0] * 30 + [1] * 5 + [2] * 1)
    cfg = TrainCfg(loss={"name": "class_balanced", "beta": 0.99})
    loss = make_loss(cfg, targets, 4)  # a class absent from the training fold gets weight 0
    assert isinstance(loss, ClassBalancedLoss) and loss.form == "softmax"
    np.testing.assert_allclose(loss.weight.numpy(), effective_number_weights(np.array([30, 5, 1, 0]), 0.99), rtol=1e-6)
    focal = make_loss(TrainCfg(loss={"name": "class_balanced_focal", "variant": "sigmoid", "gamma": 0.5}), targets, 3)
    assert (focal.form, focal.variant, focal.gamma) == ("focal", "sigmoid", 0.5)
    assert isinstance(make_loss(TrainCfg(loss="ce"), targets, 3), torch.nn.CrossEntropyLoss)


def test_loss_setting_shorthand_and_set_overrides(tmp_path):
    assert TrainCfg(loss="bce").loss == LossCfg(name="bce") and TrainCfg().loss.name == "ce"
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"name": "r", "dataset": {"name": "toy"}, "model": {"name": "tiny3d"}, "train": {"loss": "ce"}}))
    loaded = load_recipe(path, ["train.loss.name=class_balanced_focal", "train.loss.gamma=0.5"]).recipe.train.loss
    assert (loaded.name, loaded.gamma, loaded.beta, loaded.variant) == ("class_balanced_focal", 0.5, 0.9999, "softmax")
    with pytest.raises(RecipeError, match="beta"):
        load_recipe(path, ["train.loss.name=class_balanced", "train.loss.beta=1.5"])
    with pytest.raises(RecipeError, match="focal"):
        load_recipe(path, ["train.loss=focal"])


def test_rebalancing_settings_are_checked_together(caplog):
    with pytest.raises(RecipeError, match="weight them twice"):
        check_loss_fits(TrainCfg(loss="class_balanced", class_weight="balanced"), "emotion", False)
    with pytest.raises(RecipeError, match="variant=sigmoid"):
        check_loss_fits(TrainCfg(loss="class_balanced"), "au", True)
    with pytest.raises(RecipeError, match="needs train.loss=ce"):
        check_loss_fits(TrainCfg(loss="bce"), "emotion", False)
    check_loss_fits(TrainCfg(loss={"name": "class_balanced", "variant": "sigmoid"}), "au", True)
    with caplog.at_level(logging.WARNING, logger="mer4d.train.runner"):
        check_loss_fits(TrainCfg(loss="class_balanced", resample="uniform"), "emotion", False)
    assert "double-counts" in caplog.text
