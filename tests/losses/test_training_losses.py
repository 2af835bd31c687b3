"""The training-loss registry: every model's declared loss exists, and "task" is the plain loss."""

import torch

from mer4d.losses import TRAINING_LOSSES, task_only
from mer4d.models import MODELS, build_model, model_info


def test_every_torch_model_declares_a_registered_training_loss():
    declared = {model_info(n).training_loss for n in MODELS.names() if model_info(n).kind == "torch"}
    assert declared <= set(TRAINING_LOSSES.names())
    assert {"task", "au_joint", "view_supervision"} <= declared  # each registered loss has a user


def test_task_is_the_recipe_loss_on_the_logits():
    torch.manual_seed(0)
    model = build_model("tiny3d", num_classes=3, in_channels=1, width=4)
    x, y = torch.rand(4, 1, 4, 16, 16), torch.tensor([0, 2, 1, 1])
    loss_fn = torch.nn.CrossEntropyLoss()
    model.eval()  # dropout off: two forwards give the same logits
    assert TRAINING_LOSSES.get("task") is task_only
    assert torch.equal(task_only(model, x, y, None, 1, loss_fn), loss_fn(model(x), y))
