"""AU-graph: ML-GCN co-occurrence adjacency, GCN layer and the model wiring (its joint loss: tests/losses)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from mer4d.core.errors import DataError, Mer4dError, ShapeError
from mer4d.models import MODELS
from mer4d.models.au_graph import AUGraph, GraphConv, cooccurrence_adjacency

# 5 training samples x 4 AUs; AU 3 never occurs.
TABLE = np.array([
    [1, 1, 0, 0],
    [1, 1, 0, 0],
    [1, 0, 0, 0],
    [0, 1, 1, 0],
    [0, 0, 0, 0],
])


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


def _model(**kwargs) -> AUGraph:
    settings = {"num_classes": 3, "in_channels": 1, "num_aus": 4, "width": 4, "sca_channels": 4, "gcn_hidden": 4, **kwargs}
    return AUGraph(**settings)


def _clips(b: int = 2) -> torch.Tensor:
    return torch.rand(b, 1, 4, 32, 32)


def test_adjacency_by_hand():
    """N = (3, 3, 1, 0); M_01 = 2, M_12 = 1; P(1|0) = 2/3, P(0|1) = 2/3, P(2|1) = 1/3, P(1|2) = 1."""
    adjacency, edges = cooccurrence_adjacency(TABLE, tau=0.4, p=0.25)
    # P >= 0.4: 0->1, 1->0, 2->1 (P(2|1) = 1/3 is dropped).
    assert edges.tolist() == [[False, True, False, False], [True, False, False, False], [False, True, False, False], [False] * 4]
    # Code form A * p / colsum + I, column sums (1, 2, 0, 0).
    weights = np.array([
        [1.0, 0.125, 0.0, 0.0],
        [0.25, 1.0, 0.0, 0.0],
        [0.0, 0.125, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ])
    d = np.array([1.125, 1.25, 1.125, 1.0])  # row sums
    expected = np.array([
        [1 / 1.125, 0.25 / np.sqrt(1.125 * 1.25), 0.0, 0.0],
        [0.125 / np.sqrt(1.25 * 1.125), 1 / 1.25, 0.125 / np.sqrt(1.25 * 1.125), 0.0],
        [0.0, 0.0, 1 / 1.125, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ])
    np.testing.assert_allclose(weights.sum(1), d)
    np.testing.assert_allclose(adjacency, expected, atol=1e-12)
    np.testing.assert_allclose(adjacency, np.diag(d ** -0.5) @ weights.T @ np.diag(d ** -0.5), atol=1e-12)


def _mlgcn_reference(table: np.ndarray, tau: float, p: float) -> np.ndarray:
    """ML-GCN's gen_A (code form, + 1e-6) and gen_adj (matmul(matmul(A, D).t(), D)), written from the formulas."""
    nums = table.sum(0).astype(np.float64)
    adj = (table.T @ table).astype(np.float64)
    np.fill_diagonal(adj, 0)
    adj = adj / np.where(nums > 0, nums, np.inf)[:, None]
    adj = (adj >= tau).astype(np.float64)
    adj = adj * p / (adj.sum(0, keepdims=True) + 1e-6) + np.eye(len(nums))
    a = torch.from_numpy(adj)
    d = torch.diag(a.sum(1).pow(-0.5))
    return torch.matmul(torch.matmul(a, d).t(), d).numpy()


def test_adjacency_matches_mlgcn_formula_on_a_random_table():
    rng = np.random.default_rng(0)
    table = (rng.random((60, 7)) < rng.random(7)).astype(np.int64)
    table[:, 5] = 0  # a never-present AU
    adjacency, _ = cooccurrence_adjacency(table, tau=0.4, p=0.25)
    np.testing.assert_allclose(adjacency, _mlgcn_reference(table, 0.4, 0.25), atol=1e-5)


def test_never_present_au_gives_an_isolated_finite_node():
    model = _model().eval()
    model.set_au_cooccurrence(TABLE)
    adjacency = model.adjacency
    assert torch.isfinite(adjacency).all()
    assert adjacency[3].tolist() == [0.0, 0.0, 0.0, 1.0] and adjacency[:, 3].tolist() == [0.0, 0.0, 0.0, 1.0]
    with torch.no_grad():
        assert torch.isfinite(model(_clips())).all()


def test_adjacency_is_the_identity_until_set_and_is_a_buffer():
    model = _model()
    assert torch.equal(model.adjacency, torch.eye(4))
    assert "adjacency" in model.state_dict() and "adjacency" not in dict(model.named_parameters())
    model.set_au_cooccurrence(TABLE)
    assert torch.allclose(model.adjacency, torch.from_numpy(cooccurrence_adjacency(TABLE)[0]).float())


@pytest.mark.parametrize(("table", "word"), [
    (np.eye(4, dtype=int), "empty"),        # one AU per sample: no pairs
    (np.ones((3, 4), dtype=int), "fully connected"),
])
def test_degenerate_graphs_warn(table, word, caplog):
    model = _model()
    with caplog.at_level(logging.WARNING, logger="mer4d.models.au_graph"):
        model.set_au_cooccurrence(table)
    assert any(word in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_normal_graph_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="mer4d.models.au_graph"):
        _model().set_au_cooccurrence(TABLE)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_bad_au_tables_are_refused():
    model = _model()
    with pytest.raises(ShapeError, match="au_targets"):
        model.set_au_cooccurrence(np.ones((5, 3)))
    with pytest.raises(DataError, match="multi-hot"):
        model.set_au_cooccurrence(np.full((5, 4), 0.5))
    with pytest.raises(DataError, match="N >= 1"):
        model.set_au_cooccurrence(np.zeros((0, 4)))


def test_forward_can_return_the_au_logits_it_classified():
    model = _model().eval()
    x = _clips()
    with torch.no_grad():
        logits, au = model(x, return_au_logits=True)
        assert torch.equal(au, model.au_logits(x)) and torch.equal(logits, model(x))
        assert torch.equal(logits, model.classifier(model.node_features(au).flatten(1)))


def test_gcn_layer_equals_a_h_w_by_hand():
    layer = GraphConv(3, 5)
    h = torch.randn(2, 4, 3)
    adjacency = torch.from_numpy(cooccurrence_adjacency(TABLE)[0]).float()
    got = layer(h, adjacency)
    a, w = adjacency.double().numpy(), layer.weight.detach().double().numpy()
    for b in range(2):
        np.testing.assert_allclose(got[b].detach().numpy(), a @ h[b].double().numpy() @ w, rtol=1e-5, atol=1e-6)


def test_node_inputs_are_probabilities_times_embeddings():
    """With identity adjacency and one layer: node k = LeakyReLU(sigmoid(z_k) e_k W)."""
    model = _model()
    au = torch.randn(2, 4)
    expected = torch.nn.functional.leaky_relu(torch.sigmoid(au).unsqueeze(-1) * model.au_embedding @ model.gcn[0].weight, 0.2)
    assert torch.allclose(model.node_features(au), expected, atol=1e-6)


def test_emotion_logits_depend_on_the_adjacency():
    model = _model(gcn_layers=2).eval()
    x = _clips()
    with torch.no_grad():
        before_features, before = model.forward_features(x), model(x)
        model.set_au_cooccurrence(TABLE)
        after_features, after = model.forward_features(x), model(x)
    assert not torch.allclose(before_features, after_features, atol=1e-4)
    assert not torch.allclose(before, after, atol=1e-7)


def test_au_logits_and_shapes():
    model = _model(num_classes=5, gcn_hidden=6).eval()
    x = _clips()
    with torch.no_grad():
        assert model.au_logits(x).shape == (2, 4)
        assert model(x).shape == (2, 5)
        assert model.forward_features(x).shape == (2, model.num_features) and model.num_features == 24
    assert len(model.gcn) == 1


def test_factory_and_bad_options():
    model = MODELS.get("au_graph").factory(num_classes=3, in_channels=1, num_aus=5, width=4, sca_channels=4, gcn_hidden=4, gcn_layers=2)
    assert isinstance(model, AUGraph) and model.adjacency.shape == (5, 5) and len(model.gcn) == 2
    for bad in ({"tau": 0.0}, {"tau": 1.5}, {"p": -0.1}, {"alpha": 2.0}, {"alpha_step": 0}, {"gcn_layers": 0}):
        with pytest.raises(Mer4dError, match=next(iter(bad))):
            _model(**bad)
