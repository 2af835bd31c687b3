"""MoExt's motion extractor E (arXiv 2407.07345 §3.2.2, Eq. 2-3).

ΔS = |S_a − S_o| (Eq. 2): the onset is the neutral reference, so the change of shape is the
motion; M = C2(Concat(C1(ΔS), S_a)) (Eq. 3): the apex shape is kept next to the change because
it carries the expression's semantics and what the apex reconstruction needs. C1 and C2 are
Table 1 Conv blocks; the shape features are vectors (1 x 1 maps), so each block is two
{Linear, BatchNorm1d, ReLU} (:class:`~mer4d.models.moext.blocks.VectorBlock`). C1 keeps
``feature_dim``; C2 maps the 2 x ``feature_dim`` concatenation back to ``feature_dim``, so M has
the size of T_o and Concat(M, T_o) is Table 2's 1024 x 1 x 1 at 512.

``mode="difference"`` is the Table 7 ablation "w/o motion extractor": M = |S_a − S_o|, no
parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.errors import RecipeError
from mer4d.models.clip_input import check_int
from mer4d.models.moext.blocks import VectorBlock

MODES = ("extractor", "difference")


def check_mode(mode: object) -> None:
    if mode not in MODES:
        raise RecipeError(f"moext: motion must be one of {', '.join(map(repr, MODES))} (the motion extractor of Eq. 3, or Table 7's |S_a - S_o| ablation), got {mode!r}")


class MotionExtractor(nn.Module):
    """Eq. 2-3: shape features S_o, S_a (B, feature_dim) each -> motion features M (B, feature_dim).

    Args:
        feature_dim: size of the shape vectors and of M.
        mode: ``"extractor"`` (Eq. 3, the paper's model) or ``"difference"`` (Table 7: M = ΔS).
    """

    def __init__(self, feature_dim: int = 512, mode: str = "extractor"):
        super().__init__()
        check_int("moext", "feature_dim", feature_dim, 1)
        check_mode(mode)
        self.feature_dim, self.mode = feature_dim, mode
        if mode == "extractor":
            self.c1 = VectorBlock(feature_dim, feature_dim)
            self.c2 = VectorBlock(2 * feature_dim, feature_dim)

    def forward(self, shape_onset: torch.Tensor, shape_apex: torch.Tensor) -> torch.Tensor:
        change = (shape_apex - shape_onset).abs()  # Eq. 2
        if self.mode == "difference":
            return change
        return self.c2(torch.cat([self.c1(change), shape_apex], dim=1))  # Eq. 3, concatenated along the channels
