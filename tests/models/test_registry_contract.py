"""Every registered model follows the contract in mer4d.models.registry."""

from __future__ import annotations

import inspect

import pytest
import torch

from mer4d.core.errors import Mer4dError, ShapeError, UnknownNameError
from mer4d.models import MODELS, build_model, model_info

# torch models; classic (scikit-learn) entries have their own contract, test_classic_contract.py
NAMES = [n for n in MODELS.names() if model_info(n).kind == "torch"]
# Narrow settings for the heavy families, so the contract stays a seconds-long check; the
# published widths are covered by each family's own test (e.g. test_res3d.py parameter count).
SMALL = {
    "res3d": {"width": 8},
    "res3d_sca": {"width": 4, "sca_channels": 4},
    "au_graph": {"width": 4, "sca_channels": 4, "gcn_hidden": 4},
    "googlenet": {"width": 0.125},
    "ccdn": {"width": 0.125},
    "p3d": {"width": 4},
    "d3d": {"growth": 4, "width": 8},
    "i3d": {"width": 0.125},
    "moext": {"width": 4, "feature_dim": 16},
}
# Models declare their input layout in their registered ModelInfo (``info.input``); the dimension
# after B is the one ``in_channels`` sets (the runner reads it from a sample's first dimension).
# Other dimensions fixed at construction name the option that fixes them (``input.sized_by``,
# e.g. ccdn's channels per view); the inputs here are built from that declaration only, so a
# wrong declaration fails these tests.
FREE_SIZES = {"T": 8, "H": 32, "W": 32}
# Models whose clips have a fixed length: moext eats onset/apex pairs (sampling.strategy: onset_apex).
CLIP_SIZES = {"moext": {"T": 2}}
# Native CPU convolutions: oneDNN's per-shape warm-up would dominate these narrow models (conftest).
pytestmark = pytest.mark.usefixtures("tiny_conv_backend")


def small(name: str, **kwargs):
    return build_model(name, **{**SMALL.get(name, {}), **kwargs})


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def _clips(b: int = 3, c: int = 1, t: int = 8, h: int = 32, w: int = 32) -> torch.Tensor:
    return torch.rand(b, c, t, h, w)


def _spec(name: str) -> list[str]:
    return list(model_info(name).input.dims)


def _inputs(name: str, b: int = 3, c: int = 1) -> torch.Tensor:
    """A random input batch in the layout ``name`` declares, with B = b and the ``in_channels`` dimension = c."""
    spec, entry = _spec(name), MODELS.get(name)
    fixed = {dim: entry.option(SMALL.get(name, {}), option) for dim, option in entry.info.input.sized_by.items()}
    sizes = {**FREE_SIZES, **CLIP_SIZES.get(name, {}), **fixed, "B": b, spec[1]: c}
    return torch.rand(*(sizes[d] for d in spec))


def test_registry_is_not_empty_and_has_tiny3d():
    assert "tiny3d" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_entry_has_one_line_docstring(name):
    doc = (MODELS.get(name).factory.__doc__ or "").strip()
    assert doc and "\n" not in doc, f"{name}: the factory needs a one-line docstring for 'mer4d models list'"


@pytest.mark.parametrize("name", NAMES)
def test_factory_signature_names_its_options(name):
    """No **kwargs: recipes' misspelt options are caught by check_options with a did-you-mean."""
    params = inspect.signature(MODELS.get(name).factory).parameters
    assert list(params)[:2] == ["num_classes", "in_channels"]
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert all(p.default is not inspect.Parameter.empty for p in list(params.values())[2:])


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_features_shapes(name):
    model = small(name, num_classes=4, in_channels=1)
    x = _inputs(name)
    assert model(x).shape == (3, 4)
    assert isinstance(model.num_features, int) and model.num_features > 0
    assert model.forward_features(x).shape == (3, model.num_features)


@pytest.mark.parametrize("name", NAMES)
def test_backward_reaches_every_parameter(name):
    model = small(name, num_classes=3, in_channels=1)
    x = _inputs(name, b=4)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 1]))
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: parameter '{pname}' got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: parameter '{pname}' has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name}: parameter '{pname}' has an all-zero gradient"


@pytest.mark.parametrize("name", NAMES)
def test_reset_classifier_changes_k(name):
    model = small(name, num_classes=3, in_channels=1)
    x = _inputs(name, b=2)
    features = model.eval().forward_features(x)
    model.reset_classifier(7)
    assert model(x).shape == (2, 7)
    assert torch.allclose(model.forward_features(x), features), "reset_classifier must not touch the features"


@pytest.mark.parametrize("name", NAMES)
def test_eval_output_does_not_depend_on_the_batch(name):
    model = small(name, num_classes=3, in_channels=1).eval()
    x = _inputs(name, b=4)
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[i:i + 1]) for i in range(4)])
    assert torch.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("change", ["one dimension fewer", "one dimension more"])
def test_wrong_rank_raises_shape_error(name, change):
    model = small(name, num_classes=3, in_channels=1)
    good = _inputs(name, b=2)
    x = good[..., 0] if change == "one dimension fewer" else good.unsqueeze(-1)
    with pytest.raises(ShapeError) as info:
        model(x)
    message = str(info.value)
    assert "expected" in message and ", ".join(_spec(name)) in message and str(tuple(x.shape)) in message


@pytest.mark.parametrize("name", NAMES)
def test_wrong_channel_count_raises_shape_error(name):
    model = small(name, num_classes=3, in_channels=1)
    x = _inputs(name, c=3)
    with pytest.raises(ShapeError) as info:
        model(x)
    message = str(info.value)
    assert "expected 1 " in message and str(tuple(x.shape)) in message


@pytest.mark.parametrize("name", NAMES)
def test_other_in_channels_work(name):
    model = small(name, num_classes=2, in_channels=3)
    assert model(_inputs(name, b=2, c=3)).shape == (2, 2)


def test_unknown_model_suggests_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'tiny3d'"):
        MODELS.get("tiny3dd")
    with pytest.raises(KeyError):  # still a KeyError for generic callers
        build_model("tiny3dd", num_classes=3, in_channels=1)


def test_tiny3d_rejects_bad_parameters():
    with pytest.raises(Mer4dError, match="width"):
        build_model("tiny3d", num_classes=3, in_channels=1, width=0)
    with pytest.raises(Mer4dError, match="dropout"):
        build_model("tiny3d", num_classes=3, in_channels=1, dropout=1.5)
    with pytest.raises(Mer4dError, match="unknown option 'widht'; did you mean 'width'"):
        build_model("tiny3d", num_classes=3, in_channels=1, widht=4)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("tiny3d", num_classes=0, in_channels=1)


def test_tiny3d_width_sets_num_features():
    assert build_model("tiny3d", num_classes=3, in_channels=1, width=8).num_features == 32


def test_tiny3d_static_removal_ignores_still_content():
    """With remove_static, a clip and the same clip plus a still image give the same logits."""
    model = build_model("tiny3d", num_classes=3, in_channels=1).eval()
    x = _clips(b=2)
    still = torch.rand(2, 1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), model(x + still), atol=1e-5)
    with pytest.raises(ShapeError, match="T >= 2"):
        model(_clips(b=2, t=1))
    assert build_model("tiny3d", num_classes=3, in_channels=1, remove_static=False)(_clips(b=2, t=1)).shape == (2, 3)
