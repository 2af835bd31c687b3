"""Training-time clip augmentations, seeded per fold (DESIGN §4: a fold's result depends only on
its seed). They act on the last two dimensions (H, W) of a batch, so every model layout works.

The per-clip draws are made for the whole global batch (``part``, :class:`mer4d.train.batches.Part`)
and cut to the clips this process holds, so data-parallel processes augment each clip exactly as
one process would."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mer4d.core.errors import ShapeError
from mer4d.recipes.schema import TrainCfg
from mer4d.train.batches import Part


def _drawn(values: torch.Tensor, part: Part | None) -> torch.Tensor:
    return values if part is None else values[part.rows]


def mirror_half(clips: torch.Tensor, generator: torch.Generator, part: Part | None = None) -> torch.Tensor:
    """Mirror each clip (..., H, W) left-right with probability 1/2 (a seeded draw per clip of the
    global batch ``part``; None: ``clips`` are the whole batch)."""
    flip = _drawn(torch.rand(len(clips) if part is None else part.total, generator=generator), part) < 0.5
    return torch.where(flip.view(-1, *([1] * (clips.ndim - 1))), clips.flip(-1), clips)


def _check_crop(clips: torch.Tensor, size: int) -> tuple[int, int]:
    height, width = clips.shape[-2:]
    if size > height or size > width:
        raise ShapeError(f"train.crop={size} is larger than the clips ({height}x{width} px); lower train.crop or raise "
                         f"preprocess.size / preprocess.face.crop", expected=f"H, W >= {size}", actual=tuple(clips.shape))
    return int(height), int(width)


def random_crop(clips: torch.Tensor, size: int, generator: torch.Generator, part: Part | None = None) -> torch.Tensor:
    """A size x size window of each clip (B, ..., H, W) at a seeded random place (one per clip, the
    same for all its frames, so the crop never moves within a clip and fakes no motion)."""
    height, width = _check_crop(clips, size)
    n = len(clips) if part is None else part.total
    tops = _drawn(torch.randint(0, height - size + 1, (n,), generator=generator), part).tolist()
    lefts = _drawn(torch.randint(0, width - size + 1, (n,), generator=generator), part).tolist()
    return torch.stack([clip[..., t : t + size, s : s + size] for clip, t, s in zip(clips, tops, lefts, strict=True)])


def centre_crop(clips: torch.Tensor, size: int) -> torch.Tensor:
    """The central size x size window of every clip (..., H, W): what evaluation sees."""
    height, width = _check_crop(clips, size)
    top, left = (height - size) // 2, (width - size) // 2
    return clips[..., top : top + size, left : left + size]


@dataclass(frozen=True)
class Augment:
    """A fold's training augmentations, each with its own seeded generator (``None``: off)."""

    flips: torch.Generator | None = None
    crops: torch.Generator | None = None
    crop: int | None = None

    @classmethod
    def from_cfg(cls, cfg: TrainCfg, seed: int) -> Augment:
        return cls(
            flips=torch.Generator().manual_seed(seed + 1) if cfg.hflip else None,
            crops=torch.Generator().manual_seed(seed + 2) if cfg.crop else None,
            crop=cfg.crop,
        )

    def train(self, clips: torch.Tensor, part: Part | None = None) -> torch.Tensor:
        if self.crop is not None:
            clips = random_crop(clips, self.crop, self.crops, part)
        return clips if self.flips is None else mirror_half(clips, self.flips, part)

    def evaluate(self, clips: torch.Tensor) -> torch.Tensor:
        return clips if self.crop is None else centre_crop(clips, self.crop)
