"""MoExt's pre-training loop on a tiny stand-in network with the pre-training API."""

import numpy as np
import pytest
import torch
from torch import nn

from mer4d.core.errors import RecipeError
from mer4d.recipes.schema import PretrainCfg
from mer4d.train.pretrain import example_grid, pretrain, reconstruction_examples


class TinyNet(nn.Module):
    """separate / extract_motion / reconstruct / project on 1 x 8 x 8 frames."""

    def __init__(self):
        super().__init__()
        self.shape, self.texture = nn.Linear(64, 8), nn.Linear(64, 8)
        self.motion = nn.Linear(16, 8)
        self.decoder = nn.Linear(16, 64)
        self.projector = nn.Linear(8, 4)

    def separate(self, x):
        flat = x.flatten(1)
        return self.shape(flat), self.texture(flat)

    def extract_motion(self, s_o, s_a):
        return self.motion(torch.cat([(s_a - s_o).abs(), s_a], 1))

    def reconstruct(self, m, t_o):
        return torch.sigmoid(self.decoder(torch.cat([m, t_o], 1))).view(-1, 1, 8, 8)

    def project(self, z):
        return nn.functional.normalize(self.projector(z), dim=1)


def pairs(n=8):
    rng = np.random.default_rng(0)
    onset = rng.uniform(0.2, 0.4, (n, 1, 8, 8)).astype(np.float32)
    apex = onset.copy()
    apex[:, :, 2:5, 2:5] += 0.5  # the "expression": a bright patch the reconstruction can learn
    return onset, apex


def test_losses_fall_and_history_is_complete():
    onset, apex = pairs()
    torch.manual_seed(0)
    result = pretrain(TinyNet(), onset, apex, PretrainCfg(epochs=15, batch_size=4, lr=1e-2), seed=0, device="cpu", progress=False)
    assert len(result.history) == 15
    assert all(np.isfinite(list(r.values())).all() for r in result.history)
    assert result.history[-1]["re"] < 0.5 * result.history[0]["re"]
    assert result.history[0]["st"] > 0 and result.history[0]["oa"] > 0


def test_same_seed_same_history_and_a_zero_weight_leaves_its_term_out():
    onset, apex = pairs()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(pretrain(TinyNet(), onset, apex, PretrainCfg(epochs=2, batch_size=4, alpha_st=0), seed=3, device="cpu", progress=False).history)
    assert runs[0] == runs[1]
    assert all(r["st"] == 0.0 for r in runs[0])
    assert runs[0][0]["loss"] == pytest.approx(runs[0][0]["re"] + runs[0][0]["oa"], rel=1e-4)


def test_fewer_than_two_pairs_is_refused():
    onset, apex = pairs(1)
    with pytest.raises(RecipeError, match="at least 2"):
        pretrain(TinyNet(), onset, apex, PretrainCfg(epochs=1), seed=0, device="cpu", progress=False)


def test_a_lone_last_pair_joins_the_previous_batch():
    onset, apex = pairs(5)  # batches of 4 + 1: the 1 must not be a batch of its own
    net, sizes = TinyNet(), []
    separate = net.separate
    net.separate = lambda x: (sizes.append(len(x)), separate(x))[1]
    result = pretrain(net, onset, apex, PretrainCfg(epochs=1, batch_size=4, views=3), seed=0, device="cpu", progress=False)
    assert sizes == [5 * 2 * 3]  # one batch of all five pairs, 2 frames x 3 views each
    assert np.isfinite(result.history[0]["loss"])


def test_grid_layout_and_a_perfect_reconstruction_has_a_black_difference():
    onset, apex = pairs(3)
    examples = reconstruction_examples(TinyNet(), onset, apex, 2)
    assert {k: v.shape for k, v in examples.items()} == {k: (2, 1, 8, 8) for k in ("onset", "apex", "reconstruction", "difference")}
    grid = example_grid(examples)
    assert grid.shape == (2 * 8 + 2, 4 * 8 + 3 * 2, 3) and grid.dtype == np.uint8
    perfect = {**examples, "reconstruction": examples["apex"], "difference": np.zeros_like(examples["apex"])}
    assert (example_grid(perfect)[:8, 3 * 10 :] == 0).all()
