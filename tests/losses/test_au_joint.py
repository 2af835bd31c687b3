"""AU-graph's joint loss: alpha schedule and the weighted sum, against hand computations."""

import pytest
import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.losses.au_joint import alpha_at, au_joint, au_joint_loss
from mer4d.models.au_graph import AUGraph


def _model(**kwargs) -> AUGraph:
    torch.manual_seed(0)
    return AUGraph(**{"num_classes": 3, "in_channels": 1, "num_aus": 4, "width": 4, "sca_channels": 4, "gcn_hidden": 4, **kwargs})


def _clips(b: int = 3) -> torch.Tensor:
    return torch.rand(b, 1, 4, 32, 32)


def test_alpha_schedule():
    assert [alpha_at(e) for e in (1, 30, 31, 60, 61)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    assert alpha_at(11, alpha=0.5, step=10) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="1-based"):
        alpha_at(0)


@pytest.mark.parametrize(("epoch", "alpha_e"), [(1, 1.0), (31, 0.1), (61, 0.01)])
def test_joint_loss_combines_bce_and_the_task_loss(epoch, alpha_e):
    logits, au = torch.randn(3, 3, requires_grad=True), torch.randn(3, 4, requires_grad=True)
    targets = torch.tensor([0, 2, 1])
    au_targets = torch.tensor([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0]])
    loss_fn = torch.nn.CrossEntropyLoss()
    loss = au_joint_loss(logits, au, targets, au_targets, loss_fn, epoch, alpha=1.0, alpha_step=30)
    p = torch.sigmoid(au.detach().double())
    bce = -(au_targets * p.log() + (1 - au_targets) * (1 - p).log()).mean()
    ce = -torch.log_softmax(logits.detach().double(), dim=1)[torch.arange(3), targets].mean()
    assert loss.item() == pytest.approx((alpha_e * bce + (1.1 - alpha_e) * ce).item(), rel=1e-6)
    loss.backward()
    assert au.grad.abs().sum() > 0 and logits.grad.abs().sum() > 0


def test_the_hook_trains_the_model_through_both_heads_with_its_own_alpha():
    model = _model(alpha=0.5, alpha_step=2).train()
    x, targets = _clips(), torch.tensor([0, 2, 1])
    au_targets = torch.tensor([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0]])
    loss_fn = torch.nn.CrossEntropyLoss()
    torch.manual_seed(5)
    loss = au_joint(model, x, targets, au_targets, 3, loss_fn)  # epoch 3: alpha_e = 0.5 / 10
    torch.manual_seed(5)
    logits, au = model(x, return_au_logits=True)
    expected = au_joint_loss(logits, au, targets, au_targets, loss_fn, 3, 0.5, 2)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert expected.item() == pytest.approx(
        (0.05 * torch.nn.functional.binary_cross_entropy_with_logits(au, au_targets.float()) + 1.05 * loss_fn(logits, targets)).item(), rel=1e-6)
    loss.backward()
    assert model.backbone.classifier.weight.grad.abs().sum() > 0 and model.classifier.weight.grad.abs().sum() > 0


def test_the_hook_needs_au_targets_of_the_right_shape():
    model = _model().train()
    with pytest.raises(RecipeError, match="learns_aus=True"):
        au_joint(model, _clips(2), torch.tensor([0, 1]), None, 1, torch.nn.CrossEntropyLoss())
    with pytest.raises(ShapeError, match="au_targets"):
        au_joint(model, _clips(2), torch.tensor([0, 1]), torch.zeros(2, 5), 1, torch.nn.CrossEntropyLoss())
