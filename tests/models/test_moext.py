"""MoExt (arXiv 2407.07345): separator, motion extractor, reconstructor, pre-training net, checkpoint and classifier."""

from __future__ import annotations

import pytest
import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.models import build_model, model_info
from mer4d.models.moext.classifier import MoExt, moext
from mer4d.models.moext.motion import MotionExtractor
from mer4d.models.moext.pretrain_net import CHECKPOINT_FORMAT, MoExtPretrainNet
from mer4d.models.moext.reconstruct import ApexReconstructor
from mer4d.models.moext.separator import FeatureSeparator, ShapeExtractor

pytestmark = pytest.mark.usefixtures("tiny_conv_backend")
TINY = {"width": 4, "feature_dim": 16}


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def perturbed(module: torch.nn.Module) -> torch.nn.Module:
    """Every parameter and BatchNorm statistic moved off its initial value, so a load that skips one shows."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
    return module


def test_separator_gives_shape_and_texture_vectors():
    separator = FeatureSeparator(in_channels=1, **TINY).eval()
    x = torch.rand(3, 1, 28, 28)
    shape, texture = separator(x)
    assert shape.shape == texture.shape == (3, 16)
    assert torch.equal(separator.shape(x), shape)
    assert not torch.allclose(shape, texture), "the branches have their own weights"
    assert not any(k.startswith("texture_branch.") for k in separator.shape_state())
    assert set(separator.shape_state()) == set(ShapeExtractor(1, **TINY).state_dict())
    with pytest.raises(ShapeError, match="H, W >= 8"):
        separator(torch.rand(2, 1, 4, 28))
    with pytest.raises(ShapeError, match="expected 1 channel"):
        separator(torch.rand(2, 3, 28, 28))


def test_motion_extractor_shapes_and_the_difference_ablation():
    s_o, s_a = torch.randn(4, 16), torch.randn(4, 16)
    assert MotionExtractor(16)(s_o, s_a).shape == (4, 16)
    difference = MotionExtractor(16, mode="difference")
    assert list(difference.parameters()) == []
    assert torch.equal(difference(s_o, s_a), (s_a - s_o).abs())
    with pytest.raises(RecipeError, match="motion must be one of 'extractor', 'difference'"):
        MotionExtractor(16, mode="magnify")


@pytest.mark.parametrize("size", [14, 28, 56])
def test_reconstructor_draws_a_frame_of_the_asked_size_in_the_frame_range(size):
    reconstructor = ApexReconstructor(feature_dim=16, out_channels=3, size=size, width=4)
    image = reconstructor(torch.randn(2, 32))
    assert image.shape == (2, 3, size, size)
    assert image.min() >= 0 and image.max() <= 1


def test_reconstructor_at_the_published_size_follows_table_2():
    with torch.device("meta"):
        reconstructor = ApexReconstructor()  # 512-d features, 3 channels, 224 px, width 64
        assert reconstructor(torch.empty(1, 1024)).shape == (1, 3, 224, 224)
    convs = [m for m in reconstructor.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [512] * 3 + [512, 256, 128, 64] + [32] * 10 + [3]


@pytest.mark.parametrize("size", [0, 7, 30, 100, 225, 224.0, True])
def test_reconstructor_refuses_other_sizes_naming_the_allowed_ones(size):
    with pytest.raises(ValueError, match=r"7 x 2\^k with k >= 1 \(14, 28, 56, 112, 224"):
        ApexReconstructor(feature_dim=16, size=size, width=4)


def test_pretrain_net_forward_and_projection():
    net = MoExtPretrainNet(in_channels=1, size=28, **TINY)
    onset, apex = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    out = net(onset, apex)
    assert sorted(out) == sorted(["shape_onset", "shape_apex", "texture_onset", "texture_apex", "motion", "reconstruction"])
    assert all(out[k].shape == (3, 16) for k in out if k != "reconstruction")
    assert out["reconstruction"].shape == (3, 1, 28, 28)
    z = net.project(out["shape_onset"])
    assert z.shape == (3, 128) and torch.allclose(z.norm(dim=1), torch.ones(3))
    out["reconstruction"].mean().backward()  # the reconstruction reaches the separator (Eq. 1)
    assert net.separator.texture_branch.fc.weight.grad.abs().sum() > 0 and net.separator.shape_branch.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ShapeError):
        net(onset, torch.rand(3, 1, 56, 56))


def test_checkpoint_holds_the_inherited_parts_only_and_loads_weights_only(tmp_path):
    net = MoExtPretrainNet(in_channels=1, size=28, **TINY)
    checkpoint = net.checkpoint()
    assert checkpoint["format"] == CHECKPOINT_FORMAT
    assert checkpoint["settings"] == {"in_channels": 1, "size": 28, "width": 4, "feature_dim": 16, "motion": "extractor"}
    keys = set(checkpoint["state"])
    assert keys and all(k.startswith(("separator.", "motion.")) for k in keys)
    assert not any(k.startswith("separator.texture_branch.") for k in keys)
    torch.save(checkpoint, tmp_path / "pre.pt")
    loaded = torch.load(tmp_path / "pre.pt", weights_only=True)
    assert all(torch.equal(loaded["state"][k], v) for k, v in checkpoint["state"].items())


@pytest.mark.parametrize("motion", ["extractor", "difference"])
def test_checkpoint_round_trip_into_the_classifier(tmp_path, motion):
    net = perturbed(MoExtPretrainNet(in_channels=1, size=28, motion=motion, **TINY)).eval()
    checkpoint = net.checkpoint()
    torch.save(checkpoint, tmp_path / "pre.pt")
    model = moext(num_classes=3, in_channels=1, motion=motion, init=str(tmp_path / "pre.pt"), **TINY).eval()
    state = {**{f"separator.{k}": v for k, v in model.separator.state_dict().items()}, **{f"motion.{k}": v for k, v in model.motion.state_dict().items()}}
    assert state.keys() == checkpoint["state"].keys()
    assert all(torch.equal(state[k], checkpoint["state"][k]) for k in state)
    clips = torch.rand(4, 1, 2, 28, 28)
    with torch.no_grad():
        s_o, _ = net.separate(clips[:, :, 0])
        s_a, _ = net.separate(clips[:, :, 1])
        expected = net.extract_motion(s_o, s_a)
        assert torch.allclose(model.forward_features(clips), expected, atol=1e-5)
        assert torch.allclose(model(clips), model.classifier(expected), atol=1e-5)
        if motion == "difference":
            assert torch.allclose(model.forward_features(clips), (s_a - s_o).abs(), atol=1e-5)


@pytest.mark.parametrize(("key", "value"), [("width", 8), ("feature_dim", 8), ("motion", "difference"), ("in_channels", 3)])
def test_a_checkpoint_with_other_settings_is_refused_naming_both_values(tmp_path, key, value):
    settings = {"in_channels": 1, **TINY, "motion": "extractor"}
    torch.save(MoExtPretrainNet(size=14, **settings).checkpoint(), tmp_path / "pre.pt")
    with pytest.raises(RecipeError) as caught:
        moext(num_classes=3, **{**settings, key: value}, init=str(tmp_path / "pre.pt"))
    message = str(caught.value)
    assert f"{key}={settings[key]!r}" in message and f"{key}={value!r}" in message
    assert ("frames of 1 channel(s)" if key == "in_channels" else f"model.params.{key}: {settings[key]!r}") in message


def test_a_checkpoint_missing_keys_or_of_another_format_is_refused(tmp_path):
    checkpoint = MoExtPretrainNet(in_channels=1, size=14, **TINY).checkpoint()
    dropped = "motion.c1.0.weight"
    del checkpoint["state"][dropped]
    checkpoint["state"]["separator.texture_branch.fc.bias"] = torch.zeros(16)
    torch.save(checkpoint, tmp_path / "pre.pt")
    with pytest.raises(RecipeError, match=rf"missing keys \['{dropped}'\], unexpected keys \['separator.texture_branch.fc.bias'\]"):
        moext(num_classes=3, in_channels=1, init=str(tmp_path / "pre.pt"), **TINY)
    torch.save({"format": "something/9"}, tmp_path / "other.pt")
    with pytest.raises(RecipeError, match="has format 'something/9'"):
        moext(num_classes=3, in_channels=1, init=str(tmp_path / "other.pt"), **TINY)
    with pytest.raises(RecipeError, match="does not exist"):
        moext(num_classes=3, in_channels=1, init=str(tmp_path / "absent.pt"), **TINY)


@pytest.mark.parametrize("frames", [1, 3, 8])
def test_the_classifier_wants_onset_apex_pairs(frames):
    model = moext(num_classes=3, in_channels=1, **TINY)
    with pytest.raises(ShapeError, match="T=2.*sampling.strategy: onset_apex"):
        model(torch.rand(2, 1, frames, 28, 28))


def test_the_registered_model():
    info = model_info("moext")
    assert info.kind == "torch" and info.input.layout == "B C T H W" and info.paper_input == (3, 2, 224, 224)
    model = build_model("moext", num_classes=5, in_channels=1, dropout=0.5, **TINY)
    assert isinstance(model, MoExt) and model.num_features == 16
    assert model(torch.rand(2, 1, 2, 32, 32)).shape == (2, 5)
    with pytest.raises(RecipeError, match="motion must be one of"):
        build_model("moext", num_classes=5, in_channels=1, motion="flow")


def test_a_training_batch_of_one_clip_runs_and_uses_the_running_statistics():
    from mer4d.models import build_model
    from mer4d.models.moext.blocks import VectorBlock

    model = build_model("moext", num_classes=3, in_channels=1, width=4, feature_dim=8).train()
    model(torch.rand(1, 1, 2, 28, 28)).sum().backward()  # the last batch of a fold may hold one clip
    block = VectorBlock(4, 4)
    x = torch.randn(1, 4)
    block.train()
    trained = block(x)
    block.eval()
    assert torch.allclose(trained, block(x))
