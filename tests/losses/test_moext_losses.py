"""MoExt's pre-training losses (arXiv 2407.07345 Eq. 5-9) against hand computations and naive loops."""

import math

import numpy as np
import pytest
import torch

from mer4d.losses.moext import moext_pretrain_loss, onset_apex_loss, reconstruction_l1, shape_texture_loss, shape_texture_term


def test_reconstruction_is_the_mean_absolute_error():
    a, b = torch.zeros(2, 1, 2, 2), torch.tensor([1.0, -2, 0, 0, 0, 0, 0, 3]).view(2, 1, 2, 2)
    assert reconstruction_l1(b, a).item() == pytest.approx(6 / 8)


def test_shape_texture_hinge_by_hand():
    f_s = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    f_t = torch.tensor([[0.0, 1.0], [3.0, 4.0]])
    anchor = torch.tensor([1.0, 0.0])
    # instance 0: |anchor - s| = 1, |s - t| = 1 -> max(0, 1 - 1 + 0.3) = 0.3; instance 1: 2 - 4 + 0.3 < 0 -> 0
    assert shape_texture_loss(f_s, f_t, anchor, 0.3).item() == pytest.approx(0.15, abs=1e-6)
    # exactly at the margin: 1 - 1.3 + 0.3 = 0
    assert shape_texture_loss(f_s[:1], torch.tensor([[0.0, 1.3]]), anchor, 0.3).item() == pytest.approx(0.0, abs=1e-6)


def test_shape_texture_gradient_pushes_texture_away():
    f_s = torch.tensor([[0.0, 0.0]])
    f_t = torch.tensor([[0.0, 0.5]], requires_grad=True)
    shape_texture_loss(f_s, f_t, torch.tensor([1.0, 0.0]), 0.3).backward()
    assert f_t.grad[0, 1] < 0  # increasing the texture's distance from the shape lowers L_st


def test_shape_texture_term_uses_the_projected_batch_mean_as_anchor():
    shape, texture = torch.randn(6, 4), torch.randn(6, 4)
    project = torch.nn.functional.normalize
    expected = shape_texture_loss(project(shape), project(texture), project(shape.mean(0, keepdim=True))[0], 0.4)
    assert shape_texture_term(project, shape, texture, 0.4).item() == pytest.approx(expected.item())


def naive_onset_apex(f, is_apex, sets, eps):
    f = f.double().numpy()
    total, n_sets = 0.0, len(set(sets.tolist()))
    size = len(sets) // n_sets
    for i in set(sets.tolist()):
        members = [j for j in range(len(sets)) if sets[j] == i]
        for j in members:
            for k in members:
                d = np.linalg.norm(f[j] - f[k])
                total += d if is_apex[j] == is_apex[k] else max(0.0, eps - d)
    return total / (n_sets * size * size)


def test_onset_apex_loss_matches_the_double_loop():
    torch.manual_seed(0)
    f = torch.nn.functional.normalize(torch.randn(12, 3), dim=1)
    sets = torch.arange(3).repeat_interleave(4)  # 3 pairs, m = 2 views of each frame
    is_apex = torch.tensor([0, 0, 1, 1]).repeat(3).bool()
    assert onset_apex_loss(f, is_apex, sets, 0.5).item() == pytest.approx(naive_onset_apex(f, is_apex, sets, 0.5), abs=1e-5)


def test_onset_apex_loss_by_hand_and_its_gradient():
    # one set, m = 1: onset at 0, apex at distance 0.1 < eps = 0.3 -> pairs (o,a), (a,o) cost 0.2 each; / (1 * 2 * 2)
    f = torch.tensor([[0.0, 0.0], [0.1, 0.0]], requires_grad=True)
    loss = onset_apex_loss(f, torch.tensor([False, True]), torch.tensor([0, 0]), 0.3)
    assert loss.item() == pytest.approx(0.1, abs=1e-5)
    loss.backward()
    assert torch.isfinite(f.grad).all()  # the j == k pairs (distance 0) give no NaN
    assert f.grad[1, 0] < 0  # moving the apex away from the onset (below the margin) lowers the loss


def test_views_of_one_frame_are_pulled_together():
    f = torch.tensor([[0.0, 0.0], [0.0, 2.0]], requires_grad=True)  # two views of the onset
    onset_apex_loss(f, torch.tensor([False, False]), torch.tensor([0, 0]), 0.3).backward()
    assert f.grad[1, 1] > 0  # the loss grows with their distance


def test_total_weights_and_left_out_terms():
    re, st, oa = torch.tensor(1.0), torch.tensor(2.0), torch.tensor(4.0)
    assert moext_pretrain_loss(re, st, oa).item() == pytest.approx(1 + 0.5 * 2 + 4)
    assert moext_pretrain_loss(re, None, oa, alpha_st=0).item() == pytest.approx(5)
    assert moext_pretrain_loss(re, st, None, alpha_oa=0).item() == pytest.approx(2)
    assert math.isclose(moext_pretrain_loss(re, st, oa, 0.0, 0.0).item(), 1.0)
