"""Grad-CAM against hand-made cases (a known patch drives each logit) and a naive per-sample computation."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mer4d.analysis.gradcam import CAM_LAYERS, MULTI_VIEW, cam_branches, grad_cam, normalise
from mer4d.core.errors import RecipeError
from mer4d.models import build_model


class PatchNet(nn.Module):
    """Two feature channels = the two input channels (identity 1x1x1 conv); logit c = mean of channel c.

    Channel c of the input lights a patch at a chosen place, so class c's evidence sits exactly there.
    """

    def __init__(self, dims: int = 3):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.features = conv(2, 2, kernel_size=1, bias=False)
        with torch.no_grad():
            self.features.weight.copy_(torch.eye(2).view(2, 2, *([1] * dims)))
        self.head = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(2))

    def forward(self, x):
        return self.head(self.features(x).flatten(2).mean(dim=2))


def patches(shape, spots):
    x = torch.zeros(shape)
    for channel, (r, c) in enumerate(spots):
        x[:, channel, ..., r: r + 3, c: c + 3] = 1.0
    return x


@pytest.mark.parametrize("dims", [2, 3])
def test_each_class_map_peaks_on_the_patch_that_drives_its_logit(dims):
    spots = [(2, 3), (10, 11)]
    x = patches((2, 2, 4, 16, 16) if dims == 3 else (2, 2, 16, 16), spots)
    net = PatchNet(dims).eval()
    maps = grad_cam(net, net.features, x)
    assert maps.shape == (2, 2, 16, 16) and maps.min() >= 0 and maps.max() <= 1
    for c, (r, col) in enumerate(spots):
        expected = torch.zeros(16, 16)
        expected[r: r + 3, col: col + 3] = 1.0  # alpha = (1/Z) on its own channel only: the map is that channel's patch
        torch.testing.assert_close(maps[0, c], expected)


def naive_cam(head, features, x, c, method="gradcam"):
    """Per sample, in float64: split the net at the feature map, autograd the logit, weight, ReLU, upsample, average over time."""
    out = []
    for i in range(len(x)):
        a = features(x[i: i + 1].double()).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(head(a)[0, c], a)
        if method == "gradcam":
            cam = torch.relu((grad.mean(dim=(2, 3, 4), keepdim=True) * a).sum(dim=1, keepdim=True))
        else:  # Layer-CAM: every location weighted by its own positive gradient, channel by channel
            cam = torch.zeros_like(a[:, :1])
            for k in range(a.shape[1]):
                cam[:, 0] += torch.clamp(grad[:, k], min=0) * a[:, k]
            cam = torch.relu(cam)
        cam = F.interpolate(cam, size=x.shape[2:], mode="trilinear", align_corners=False)[0, 0].mean(dim=0)
        span = cam.max() - cam.min()
        out.append(((cam - cam.min()) / span) if span > 0 else torch.zeros_like(cam))
    return torch.stack(out)


@pytest.mark.parametrize(("method", "stage"), [("gradcam", 4), ("layercam", 4), ("layercam", 2)])
def test_res3d_cam_equals_a_naive_per_sample_computation(method, stage):
    torch.manual_seed(0)
    model = build_model("res3d", num_classes=3, in_channels=1, width=2).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics, so eval mode matters
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(3, 1, 4, 32, 32)

    stages = [model.layer1, model.layer2, model.layer3, model.layer4]

    def features(v):
        v = model.stem(v)
        for layer in stages[:stage]:
            v = layer(v)
        return v

    def head(a):
        for layer in stages[stage:]:
            a = layer(a)
        return model.classifier(model.pool(a).flatten(1))

    model.double()
    expected = torch.stack([naive_cam(head, features, x, c, method) for c in range(3)], dim=1)
    model.float()
    got = grad_cam(model, stages[stage - 1], x, method=method)
    torch.testing.assert_close(got.double(), expected, atol=1e-4, rtol=0)


def small(name):
    params = {"res3d": {"width": 2}, "res3d_sca": {"width": 2, "sca_channels": 2}, "tiny3d": {"width": 2}, "p3d": {"width": 2},
              "d3d": {"growth": 2, "width": 4}, "i3d": {"width": 0.0625}, "googlenet": {"width": 0.0625},
              "ccdn": {"width": 0.0625, "channels": 2}}[name]
    in_channels = 3 if name == "ccdn" else 2
    return build_model(name, num_classes=3, in_channels=in_channels, **params).eval()


@pytest.mark.parametrize("name", sorted({*CAM_LAYERS, *MULTI_VIEW}))
def test_every_declared_model_gives_one_map_per_view_and_class_at_input_size(name, tiny_conv_backend):
    torch.manual_seed(0)
    model = small(name)
    x = torch.randn(2, 3, 2, 40, 40) if name == "ccdn" else torch.randn(2, 2, 40, 40) if name == "googlenet" else torch.randn(2, 2, 4, 40, 40)
    branches = cam_branches(name, model)
    assert len(branches) == (3 if name == "ccdn" else 1)
    maps = torch.stack([grad_cam(b.net, b.layer, b.pick(x)) for b in branches], dim=1)
    assert maps.shape == (2, len(branches), 3, 40, 40) and torch.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1


def test_ccdn_view_maps_are_each_branch_googlenet_on_its_view(tiny_conv_backend):
    torch.manual_seed(0)
    model = small("ccdn")
    x = torch.randn(2, 3, 2, 40, 40)
    for b in cam_branches("ccdn", model):
        torch.testing.assert_close(grad_cam(b.net, b.layer, b.pick(x)), grad_cam(model.branches[b.view], model.branches[b.view].inception, x[:, b.view]))
        _, views = model(x, return_views=True)
        torch.testing.assert_close(b.net(b.pick(x)), views[:, b.view])  # the branch explained is the view's own classifier


def test_layercam_keeps_evidence_that_grad_cams_channel_average_cancels():
    """One channel carries positive evidence at one patch and negative at another: the channel's mean
    gradient is zero, so Grad-CAM sees nothing, while Layer-CAM shows the positive patch only."""

    class SignedPatch(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Conv2d(1, 1, kernel_size=1, bias=False)  # the identity, but a parameter so the map has a gradient
            with torch.no_grad():
                self.features.weight.fill_(1.0)

        def forward(self, x):
            a = self.features(x)  # (B, 1, 8, 8)
            mask = torch.zeros(8, 8)
            mask[1:3, 1:3], mask[5:7, 5:7] = 1.0, -1.0
            return (a[:, 0] * mask).sum(dim=(1, 2))[:, None]

    net = SignedPatch().eval()
    x = torch.ones(1, 1, 8, 8)
    assert (grad_cam(net, net.features, x) == 0).all()
    expected = torch.zeros(8, 8)
    expected[1:3, 1:3] = 1.0
    torch.testing.assert_close(grad_cam(net, net.features, x, method="layercam")[0, 0], expected)


def test_an_unknown_cam_method_is_refused():
    net = PatchNet(2).eval()
    with pytest.raises(RecipeError, match=r"CAM method 'gradcam\+\+' is not known; choose one of gradcam, layercam"):
        grad_cam(net, net.features, torch.zeros(1, 2, 4, 4), method="gradcam++")


def test_a_model_without_a_declared_feature_map_is_refused():
    with pytest.raises(RecipeError, match="declares no feature map.*res3d"):
        cam_branches("lbptop_svm", object())


def test_normalise_maps_to_unit_range_and_keeps_flat_maps_zero():
    maps = torch.tensor(np.array([[[1.0, 3.0], [2.0, 5.0]], [[4.0, 4.0], [4.0, 4.0]]]))
    out = normalise(maps)
    torch.testing.assert_close(out[0], torch.tensor([[0.0, 0.5], [0.25, 1.0]], dtype=torch.float64))
    assert (out[1] == 0).all()
