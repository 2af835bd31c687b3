"""The view-expansion sets of MoExt's pre-training."""

import pytest
import torch

from mer4d.core.errors import RecipeError
from mer4d.train.view_expansion import CONTRAST, _contrast, _grayscale, _noise, expand_views


def frames(n=4, c=3):
    g = torch.Generator().manual_seed(1)
    return 0.25 + 0.5 * torch.rand(n, c, 8, 8, generator=g), 0.25 + 0.5 * torch.rand(n, c, 8, 8, generator=g)


def test_shapes_view_zero_and_bounds():
    onset, apex = frames()
    ov, av = expand_views(onset, apex, 3, torch.Generator().manual_seed(0))
    assert ov.shape == av.shape == (4, 3, 3, 8, 8)
    assert torch.equal(ov[:, 0], onset) and torch.equal(av[:, 0], apex)
    assert ov.min() >= 0 and ov.max() <= 1
    assert not torch.equal(ov[:, 1], onset) and not torch.equal(ov[:, 2], ov[:, 1])


def test_same_seed_same_views_and_m_one_is_the_frame():
    onset, apex = frames()
    a = expand_views(onset, apex, 3, torch.Generator().manual_seed(5))
    b = expand_views(onset, apex, 3, torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    ov, av = expand_views(onset, apex, 1, torch.Generator())
    assert ov.shape[1] == 1 and torch.equal(ov[:, 0], onset)


def test_each_operation():
    onset, _ = frames(1)
    gray = _grayscale(onset, torch.Generator())
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    assert torch.allclose(gray[0, 0], 0.299 * onset[0, 0] + 0.587 * onset[0, 1] + 0.114 * onset[0, 2])
    one = onset[:, :1]
    assert torch.equal(_grayscale(one, torch.Generator()), one)  # a gray frame is its own grayscale
    assert _contrast(onset, torch.Generator()).std().item() == pytest.approx(CONTRAST * onset.std().item(), rel=1e-5)
    noisy = _noise(onset, torch.Generator().manual_seed(0))
    assert 0 < (noisy - onset).abs().max() < 0.2


def test_the_two_frames_of_a_pair_get_the_same_operations():
    onset = torch.full((6, 3, 4, 4), 0.5)
    onset[:, 0] = 0.9  # a coloured frame: grayscale changes it, contrast keeps its mean
    ov, av = expand_views(onset, onset.clone(), 3, torch.Generator().manual_seed(2))
    gray_o = (ov[:, 1:, 0] - ov[:, 1:, 1]).abs().amax(dim=(-2, -1)) < 1e-6
    gray_a = (av[:, 1:, 0] - av[:, 1:, 1]).abs().amax(dim=(-2, -1)) < 1e-6
    assert torch.equal(gray_o, gray_a)


def test_too_many_views_is_refused():
    onset, apex = frames()
    with pytest.raises(RecipeError, match="views must be in 1..4"):
        expand_views(onset, apex, 5, torch.Generator())
