"""Checks and transforms shared by the clip models (inputs (B, C, T, H, W))."""

from __future__ import annotations

import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.shapes import check_shape


def check_channels(x: torch.Tensor, in_channels: int, layout: str = "B C T H W", name: str = "clip") -> dict[str, int]:
    """Shape check of a batch in ``layout`` whose C is the channel count the model was built for."""
    sizes = check_shape(x, layout, name=name)
    if sizes["C"] != in_channels:
        shown = ", ".join(f"C={in_channels}" if d == "C" else d for d in layout.split())
        raise ShapeError(
            f"{name}: expected {in_channels} channel(s) ({shown}), got shape {tuple(x.shape)} "
            f"with C={sizes['C']}; build the model with in_channels={sizes['C']} or convert the {name}s",
            layout, tuple(x.shape),
        )
    return sizes


def check_clip(x: torch.Tensor, in_channels: int) -> dict[str, int]:
    """Shape check of a clip batch (B, C, T, H, W), with the channel count the model was built for."""
    return check_channels(x, in_channels)


def check_int(model: str, name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RecipeError(f"{model}: {name} must be an integer >= {low}, got {value!r}")


def remove_static(x: torch.Tensor) -> torch.Tensor:
    """Subtract each pixel's temporal mean: identity and lighting are (nearly) static within a
    clip while the expression is the change, so a model then sees the change, not the subject."""
    return x - x.mean(dim=2, keepdim=True)
