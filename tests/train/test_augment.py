"""Random/centre crops: seeded, one window per clip for all its frames, clear errors."""

import pytest
import torch

from mer4d.core.errors import ShapeError
from mer4d.train.augment import centre_crop, random_crop


def _clips(b=4, t=3, h=10, w=12):
    # each pixel holds its own coordinates, so the window a crop took can be read back
    ys = torch.arange(h).view(1, 1, 1, h, 1).expand(b, 1, t, h, w)
    xs = torch.arange(w).view(1, 1, 1, 1, w).expand(b, 1, t, h, w)
    return (ys * 100 + xs).float()


def test_random_crop_takes_one_window_per_clip_for_all_frames_and_is_seeded():
    clips = _clips()
    out = random_crop(clips, 6, torch.Generator().manual_seed(3))
    assert out.shape == (4, 1, 3, 6, 6)
    for clip in out:
        top, left = int(clip[0, 0, 0, 0]) // 100, int(clip[0, 0, 0, 0]) % 100
        assert 0 <= top <= 4 and 0 <= left <= 6
        expected = _clips(1)[0, :, :, top : top + 6, left : left + 6]
        assert torch.equal(clip, expected)  # a window of the original, the same in every frame
    assert torch.equal(out, random_crop(clips, 6, torch.Generator().manual_seed(3)))
    corners = {int(c[0, 0, 0, 0]) for c in random_crop(_clips(b=64), 6, torch.Generator().manual_seed(4))}
    assert len(corners) > 5  # the places really vary between clips


def test_centre_crop_is_the_middle_window():
    out = centre_crop(_clips(), 6)
    assert out.shape == (4, 1, 3, 6, 6)
    assert int(out[0, 0, 0, 0, 0]) == 2 * 100 + 3  # top (10-6)//2 = 2, left (12-6)//2 = 3


def test_crop_larger_than_the_clip_names_the_setting():
    with pytest.raises(ShapeError, match="train.crop=20 is larger than the clips"):
        centre_crop(_clips(), 20)
