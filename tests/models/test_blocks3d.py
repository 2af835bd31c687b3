"""blocks3d: the shared 3D building blocks (conv unit, squeeze-excitation, initialisation, classifier head)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mer4d.models.blocks3d import ClassifierHead, ConvBnRelu3d, SqueezeExcite3d, fit_kernel, init_small_head, init_video_weights


def test_conv_unit_has_no_conv_bias_and_a_relu_switch():
    unit = ConvBnRelu3d(2, 4, (1, 3, 3), padding=(0, 1, 1))
    assert unit.conv.bias is None and isinstance(unit.bn, nn.BatchNorm3d)
    assert sum(p.numel() for p in unit.parameters()) == 2 * 4 * 9 + 2 * 4
    x = torch.randn(2, 2, 3, 5, 5)
    assert unit(x).shape == (2, 4, 3, 5, 5) and (unit(x) >= 0).all()
    assert (ConvBnRelu3d(2, 4, 1, relu=False)(x) < 0).any()


def test_squeeze_excite_scales_channels_by_a_sigmoid_of_the_pooled_input():
    torch.manual_seed(0)
    se = SqueezeExcite3d(32)
    assert se.hidden == 2 and sum(p.numel() for p in se.parameters()) == 2 * 32 * 2 + 2 + 32
    assert SqueezeExcite3d(8).hidden == 1  # at least one hidden unit
    x = torch.randn(2, 32, 3, 4, 4)
    pooled = x.mean(dim=(2, 3, 4))
    scale = torch.sigmoid(se.fc2(torch.relu(se.fc1(pooled))))
    assert torch.allclose(se(x), x * scale[:, :, None, None, None])


def test_init_video_weights_and_small_head():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(4, 64, 3), nn.BatchNorm3d(64), nn.Conv2d(4, 64, 3, bias=True), nn.BatchNorm2d(64))
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            m.weight.data.fill_(3.0)
    init_video_weights(model)
    assert abs(model[0].weight.std().item() - (2 / (64 * 27)) ** 0.5) < 0.01  # Kaiming, fan-out
    assert (model[1].weight == 1).all() and (model[1].bias == 0).all() and (model[3].weight == 1).all()
    assert (model[2].bias == 0).all()
    head = nn.Linear(512, 400)
    init_small_head(head)
    assert abs(head.weight.std().item() - 0.01) < 0.001 and (head.bias == 0).all()


class _Net(ClassifierHead):
    model_name = "net"

    def __init__(self):
        super().__init__()
        self.body = nn.Conv3d(1, 6, 1)
        self.build_head(6, 3, 0.0)
        self.init_weights()

    def forward_features(self, x):
        return self.body(x).mean(dim=(2, 3, 4))


def test_classifier_head_forward_and_reset_keep_device_and_dtype():
    net = _Net().double()
    x = torch.rand(2, 1, 2, 3, 3, dtype=torch.float64)
    assert torch.allclose(net(x), net.classifier(net.forward_features(x)))
    net.reset_classifier(5)
    assert net(x).shape == (2, 5) and net.classifier.weight.dtype == torch.float64
    with pytest.raises(ValueError, match="net: num_classes"):
        net.reset_classifier(0)


def test_fit_kernel_shrinks_to_size_one_dimensions():
    assert fit_kernel((2, 2, 2), (1, 5, 2)) == (1, 2, 2)
    assert fit_kernel((3, 3, 3), (16, 2, 1)) == (3, 2, 1)
