"""CCDN's training loss: the fused loss plus the weighted mean of the per-view losses."""

import pytest
import torch
from torch import nn

from mer4d.losses.view_supervision import view_loss, view_supervision
from mer4d.models.ccdn import CCDN


def test_view_loss_is_the_weighted_mean_of_view_losses():
    views = torch.randn(2, 3, 2)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss_fn = nn.BCEWithLogitsLoss()
    expected = 0.5 * sum(loss_fn(views[:, v], y) for v in range(3)) / 3
    assert float(view_loss(views, y, loss_fn, 0.5)) == pytest.approx(float(expected), rel=1e-6)
    assert view_loss(views, y, loss_fn, 0.0) is None
    assert view_loss(views[:, :1], y, loss_fn, 0.5) is None  # one view: the fused loss is its loss


def test_the_hook_adds_the_view_losses_to_the_fused_loss():
    torch.manual_seed(0)
    model = CCDN(num_classes=2, in_channels=3, channels=1, width=0.125, multilabel=True, view_loss_weight=0.5).train()
    x, y = torch.randn(2, 3, 1, 32, 32), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss_fn = nn.BCEWithLogitsLoss()
    torch.manual_seed(1)  # the same dropout masks in both forwards
    loss = view_supervision(model, x, y, None, 1, loss_fn)
    torch.manual_seed(1)
    fused, views = model(x, return_views=True)
    expected = loss_fn(fused, y) + 0.5 * sum(loss_fn(views[:, v], y) for v in range(3)) / 3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    single = CCDN(num_classes=2, in_channels=3, channels=1, width=0.125, multilabel=True, views=[1]).train()
    torch.manual_seed(1)
    alone = view_supervision(single, x, y, None, 1, loss_fn)
    torch.manual_seed(1)
    assert alone.item() == pytest.approx(loss_fn(single(x), y).item(), rel=1e-6)
