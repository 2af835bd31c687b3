"""ccdn: view fusion against hand computations, view selection, parameters and input checks."""

from __future__ import annotations

import itertools

import pytest
import torch

from mer4d.core.errors import Mer4dError, RecipeError, ShapeError
from mer4d.models import build_model
from mer4d.models.ccdn import fuse_views

# Fixed per-view logits: B = 2 samples, V = 3 views, K = 4 classes.
LOGITS = torch.tensor(
    [
        [[1.0, -2.0, 0.5, 0.0], [0.3, 0.2, -1.5, 2.0], [-0.7, 1.1, 0.9, -0.4]],
        [[2.5, 0.0, -0.3, -1.0], [-1.2, 0.4, 0.8, 0.1], [0.6, -0.9, 1.7, 0.2]],
    ]
)
SCORES = torch.tensor([0.4, -1.0, 0.9])
SMALL = {"width": 0.125}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + torch.exp(torch.tensor(-z, dtype=torch.float64)).item())


def _softmax(row: list[float]) -> list[float]:
    e = [torch.exp(torch.tensor(v, dtype=torch.float64)).item() for v in row]
    return [v / sum(e) for v in e]


def _hand(fusion: str, multilabel: bool, weights: list[float] | None = None) -> torch.Tensor:
    """The fused probabilities with plain loops in float64."""
    out = torch.zeros(2, 4, dtype=torch.float64)
    z = LOGITS.tolist()
    for b in range(2):
        probs = [[_sigmoid(v) for v in z[b][view]] if multilabel else _softmax(z[b][view]) for view in range(3)]
        w = weights or [1 / 3] * 3
        for k in range(4):
            if fusion == "product":
                yes = no = 1.0
                for view in range(3):
                    yes *= probs[view][k]
                    no *= 1.0 - probs[view][k]
                out[b, k] = yes / (yes + no) if multilabel else yes
            else:
                out[b, k] = sum(w[view] * probs[view][k] for view in range(3))
        if fusion == "product" and not multilabel:
            out[b] /= out[b].sum()
    return out


def _probs(fused: torch.Tensor, multilabel: bool) -> torch.Tensor:
    return torch.sigmoid(fused) if multilabel else torch.softmax(fused, dim=-1)


@pytest.mark.parametrize("fusion, multilabel", list(itertools.product(["mean", "product"], [True, False])))
def test_fixed_fusions_match_hand_computation(fusion, multilabel):
    fused = fuse_views(LOGITS, fusion, multilabel)
    assert fused.shape == (2, 4)
    torch.testing.assert_close(_probs(fused.double(), multilabel), _hand(fusion, multilabel), atol=1e-6, rtol=0)


@pytest.mark.parametrize("multilabel", [True, False])
def test_learned_fusion_matches_hand_computation(multilabel):
    weights = torch.softmax(SCORES.double(), dim=0).tolist()
    fused = fuse_views(LOGITS, "learned", multilabel, SCORES)
    torch.testing.assert_close(_probs(fused.double(), multilabel), _hand("learned", multilabel, weights), atol=1e-6, rtol=0)
    # Zero scores are equal weights: the mean.
    torch.testing.assert_close(fuse_views(LOGITS, "learned", multilabel, torch.zeros(3)), fuse_views(LOGITS, "mean", multilabel))


def test_product_is_the_sum_of_logits():
    torch.testing.assert_close(fuse_views(LOGITS, "product", True), LOGITS.sum(dim=1))
    torch.testing.assert_close(fuse_views(LOGITS, "product", False), torch.log_softmax(LOGITS.sum(dim=1), dim=-1))


@pytest.mark.parametrize("fusion", ["mean", "product"])
@pytest.mark.parametrize("multilabel", [True, False])
def test_saturated_views_stay_finite(fusion, multilabel):
    z = torch.tensor([[[80.0, -80.0, 30.0], [90.0, -70.0, -30.0]]])
    fused = fuse_views(z, fusion, multilabel)
    assert torch.isfinite(fused).all()
    if fusion == "mean" and multilabel:
        # logit(mean(sigmoid)) computed in log space: about min-side logit + log(V) when both views agree.
        torch.testing.assert_close(fused[0, 0], torch.tensor(80.0 + torch.log(torch.tensor(2.0)).item()), atol=1e-3, rtol=0)
        torch.testing.assert_close(fused[0, 2], torch.tensor(0.0), atol=1e-4, rtol=0)


def test_fusion_argument_errors():
    with pytest.raises(Mer4dError, match="did you mean 'mean'"):
        fuse_views(LOGITS, "maen", True)
    with pytest.raises(ValueError, match="view_scores"):
        fuse_views(LOGITS, "learned", True)
    with pytest.raises(ValueError, match="view_scores"):
        fuse_views(LOGITS, "mean", True, SCORES)
    with pytest.raises(ShapeError, match=r"view_scores"):
        fuse_views(LOGITS, "learned", True, torch.zeros(2))
    with pytest.raises(ShapeError, match=r"expected shape \(B, V, K\)"):
        fuse_views(LOGITS[0], "mean", True)


def _model(**params):
    torch.manual_seed(0)
    return build_model("ccdn", **{"num_classes": 4, "in_channels": 3, "channels": 2, **SMALL, **params})


def _views(b: int = 2, v: int = 3, c: int = 2, size: int = 32) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(b, v, c, size, size)


# The fusion x multilabel grid is covered by the pure-function tests above; here each fusion once.
@pytest.mark.parametrize("fusion, multilabel", [("mean", True), ("product", False), ("learned", True)])
def test_forward_fuses_its_per_view_logits(fusion, multilabel):
    model = _model(fusion=fusion, multilabel=multilabel).eval()
    x = _views()
    with torch.no_grad():
        fused, per_view = model(x, return_views=True)
        assert fused.shape == (2, 4) and per_view.shape == (2, 3, 4)
        torch.testing.assert_close(fused, fuse_views(per_view, fusion, multilabel, model.view_scores))
        torch.testing.assert_close(model(x), fused)
        assert model.forward_features(x).shape == (2, model.num_features) == (2, 3 * 128)


def test_each_view_goes_through_its_own_branch():
    model = _model(views=[2, 0]).eval()
    x = _views()
    with torch.no_grad():
        _, per_view = model(x, return_views=True)
        torch.testing.assert_close(per_view[:, 0], model.branches[0](x[:, 2]))
        torch.testing.assert_close(per_view[:, 1], model.branches[1](x[:, 0]))


@pytest.mark.parametrize("fusion", ["mean", "product", "learned"])
def test_single_view_variant_is_that_views_branch(fusion):
    model = _model(views=[1], fusion=fusion).eval()
    assert len(model.branches) == 1 and model.view_scores is None
    x = _views()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.branches[0](x[:, 1]))
    assert model.num_features == model.branches[0].num_features


def test_a_repeated_view_is_a_same_view_ensemble():
    # views=[1, 1, 1]: three independently initialised branches on the front view, the
    # same-capacity baseline that separates ensembling from seeing other views.
    model = _model(views=[1, 1, 1]).eval()
    assert len(model.branches) == 3
    x = _views()
    with torch.no_grad():
        _, per_view = model(x, return_views=True)
        for v in range(3):
            torch.testing.assert_close(per_view[:, v], model.branches[v](x[:, 1]))
    assert not torch.allclose(per_view[:, 0], per_view[:, 1])


def test_shared_uses_one_network_for_every_view():
    model = _model(shared=True).eval()
    assert len(model.branches) == 1
    x = _views()
    with torch.no_grad():
        _, per_view = model(x, return_views=True)
        for v in range(3):
            torch.testing.assert_close(per_view[:, v], model.branches[0](x[:, v]), atol=1e-5, rtol=0)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts():
    """Three published-width GoogLeNets (5 classes, 3 channels) = 3 x 5,985,957; shared = 1 x; learned adds V."""
    one = _count(build_model("googlenet", num_classes=5, in_channels=3))
    assert one == 5_985_957
    assert _count(build_model("ccdn", num_classes=5, in_channels=3)) == 3 * one == 17_957_871
    small = _count(build_model("googlenet", num_classes=5, in_channels=3, width=0.25))
    assert _count(build_model("ccdn", num_classes=5, in_channels=3, width=0.25, shared=True)) == small
    assert _count(build_model("ccdn", num_classes=5, in_channels=3, width=0.25, fusion="learned")) == 3 * small + 3


@pytest.mark.parametrize("params", [{"fusion": "learned", "multilabel": True}, {"shared": True, "fusion": "product"}])
def test_gradients_reach_every_parameter(params):
    model = _model(**params)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(_views(b=3)), torch.eye(4)[:3])
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_learned_weights_start_uniform():
    model = _model(fusion="learned")
    torch.testing.assert_close(model.view_weights, torch.full((3,), 1 / 3))
    assert _model().view_weights is None


def test_wrong_inputs_say_expected_and_found():
    model = _model()
    with pytest.raises(ShapeError, match=r"expected 3 view\(s\).*got shape \(2, 2, 2, 32, 32\) with V=2"):
        model(_views(v=2))
    with pytest.raises(ShapeError, match=r"expected 2 channel\(s\) per view.*got shape \(2, 3, 3, 32, 32\) with C=3"):
        model(_views(c=3))
    with pytest.raises(ShapeError, match=r"expected shape \(B, V, C, H, W\), got \(2, 6, 32, 32\)"):
        model(torch.rand(2, 6, 32, 32))
    with pytest.raises(ShapeError, match=r"H, W >= 31"):
        model(_views(size=16))


def test_rejects_bad_parameters():
    with pytest.raises(Mer4dError, match=r"indices must be integers in 0\.\.2"):
        _model(views=[3])
    with pytest.raises(Mer4dError, match="repeats an index .* shared=true"):
        _model(views=[0, 0], shared=True)
    with pytest.raises(Mer4dError, match="non-empty list"):
        _model(views=[])
    with pytest.raises(Mer4dError, match="views holds 'front'"):
        _model(views=["front"])
    with pytest.raises(Mer4dError, match="did you mean 'product'"):
        _model(fusion="prodcut")
    with pytest.raises(Mer4dError, match="multilabel must be true or false"):
        _model(multilabel="yes")
    with pytest.raises(Mer4dError, match="did you mean 'views'"):
        _model(veiws=[0])
    assert _model(views=1).views == (1,)  # `--set model.params.views=1` gives an int


def test_view_loss_weight_is_checked():
    from mer4d.models.ccdn import CCDN

    with pytest.raises(RecipeError, match="view_loss_weight"):
        CCDN(num_classes=2, in_channels=3, channels=1, width=0.125, view_loss_weight=-1)
