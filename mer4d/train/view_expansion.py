"""MoExt's view-expansion sets (arXiv 2407.07345 §3.5, §4.1.2): each onset/apex pair becomes m
views of its onset and m of its apex: the frame itself plus m - 1 of {random noise, contrast
increase, grayscale}, drawn without replacement per pair (m = 3: two of the three).

Both frames of a pair get the same drawn operations (they are views of one pair, and Eq. 8 pulls
the views of one frame together); the noise sample itself is drawn per frame.
"""

from __future__ import annotations

import torch

from mer4d.core.errors import RecipeError

NOISE_SIGMA = 0.02  # Gaussian noise on [0, 1] intensities: visible, far below an expression's contrast
CONTRAST = 1.5  # contrast factor around each image's mean intensity
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights for RGB -> gray
OPERATIONS = ("noise", "contrast", "grayscale")


def _noise(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x + NOISE_SIGMA * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def _contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mean = x.mean(dim=(-3, -2, -1), keepdim=True)
    return mean + CONTRAST * (x - mean)


def _grayscale(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if x.shape[-3] == 1:  # a gray frame is its own grayscale
        return x
    if x.shape[-3] != 3:
        raise RecipeError(f"view expansion: grayscale needs 1 or 3 channels, got {x.shape[-3]}")
    weights = torch.tensor(LUMA, dtype=x.dtype).view(3, 1, 1)
    return (x * weights).sum(dim=-3, keepdim=True).expand_as(x).clone()


APPLY = {"noise": _noise, "contrast": _contrast, "grayscale": _grayscale}


def expand_views(onset: torch.Tensor, apex: torch.Tensor, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (n, C, H, W) -> views (n, m, C, H, W) of the onsets and of the apexes; view 0 is the frame, all in [0, 1]."""
    if not 1 <= m <= len(OPERATIONS) + 1:
        raise RecipeError(f"pretrain.views={m}: a view-expansion set is the frame plus up to {len(OPERATIONS)} operations "
                          f"({', '.join(OPERATIONS)}), so views must be in 1..{len(OPERATIONS) + 1}")
    onset_views, apex_views = [onset], [apex]
    if m > 1:
        picks = torch.stack([torch.randperm(len(OPERATIONS), generator=generator)[: m - 1] for _ in range(len(onset))])  # (n, m-1)
        for slot in range(m - 1):
            o, a = onset.clone(), apex.clone()
            for op, name in enumerate(OPERATIONS):
                chosen = picks[:, slot] == op
                if chosen.any():
                    o[chosen] = APPLY[name](onset[chosen], generator)
                    a[chosen] = APPLY[name](apex[chosen], generator)
            onset_views.append(o.clamp(0, 1))
            apex_views.append(a.clamp(0, 1))
    return torch.stack(onset_views, dim=1), torch.stack(apex_views, dim=1)
