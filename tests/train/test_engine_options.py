"""Loss weighting (train.class_weight) and mirroring (train.hflip), against hand computations."""

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from mer4d.recipes.schema import TrainCfg
from mer4d.train.augment import mirror_half
from mer4d.train.engine import make_loss


def test_balanced_bce_uses_negatives_over_positives_per_class():
    targets = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=np.float32)
    loss = make_loss(TrainCfg(loss="bce", class_weight="balanced"), targets, 3)
    np.testing.assert_allclose(loss.pos_weight.numpy(), [1 / 3, 3.0, 1.0])  # class 3 never positive: weight 1
    logits = torch.tensor([[0.3, -1.2, 0.5]])
    y = torch.tensor([[1.0, 1.0, 0.0]])
    sig = torch.sigmoid(logits)
    by_hand = -(torch.tensor([1 / 3, 3.0, 1.0]) * y * torch.log(sig) + (1 - y) * torch.log(1 - sig)).mean()
    assert float(loss(logits, y)) == pytest.approx(float(by_hand), rel=1e-6)


def test_balanced_ce_matches_sklearn_and_zeroes_absent_classes():
    targets = np.array([0, 0, 0, 1, 2, 2])
    loss = make_loss(TrainCfg(loss="ce", class_weight="balanced"), targets, 4)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=targets) * 3 / 4  # sklearn divides by the 3 present classes
    np.testing.assert_allclose(loss.weight.numpy()[:3], expected, rtol=1e-6)
    assert loss.weight[3] == 0


def test_unweighted_losses_by_default():
    assert make_loss(TrainCfg(loss="bce"), np.ones((2, 2), np.float32), 2).pos_weight is None
    assert make_loss(TrainCfg(loss="ce"), np.array([0, 1]), 2).weight is None


def test_mirror_half_flips_the_drawn_clips_only_and_is_seeded():
    clips = torch.arange(8 * 2 * 3 * 4, dtype=torch.float32).reshape(8, 1, 2, 3, 4)
    out = mirror_half(clips, torch.Generator().manual_seed(5))
    flipped = [bool(torch.equal(out[i], clips[i].flip(-1))) for i in range(8)]
    kept = [bool(torch.equal(out[i], clips[i])) for i in range(8)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True)) and 0 < sum(flipped) < 8
    expected = (torch.rand(8, generator=torch.Generator().manual_seed(5)) < 0.5).tolist()
    assert flipped == expected
    assert torch.equal(out, mirror_half(clips, torch.Generator().manual_seed(5)))
