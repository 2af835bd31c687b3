"""Input layouts, checks and transforms shared by the clip models (inputs (B, C, T, H, W))."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.shapes import check_shape


@dataclass(frozen=True)
class InputSpec:
    """The batch layout a model eats, declared in its :class:`~mer4d.models.registry.ModelInfo`.

    Args:
        layout: dimension names of one batch, B first, e.g. ``"B C T H W"`` (clips),
            ``"B C H W"`` (images), ``"B V C H W"`` (per-view image stacks). The dimension after
            B is the one ``in_channels`` sets: the runner reads it from a sample's first dimension.
        sized_by: other dimensions fixed when the model is built, each with the factory option
            that fixes them (CCDN: ``{"C": "channels"}``, the channels of one view).
    """

    layout: str
    sized_by: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dims = self.layout.split()
        if len(dims) < 2 or dims[0] != "B" or len(set(dims)) != len(dims):
            raise ValueError(f"InputSpec: layout must name distinct dimensions starting with B, e.g. 'B C T H W'; got {self.layout!r}")
        stray = [d for d in self.sized_by if d not in dims[2:]]
        if stray:
            raise ValueError(f"InputSpec {self.layout!r}: sized_by names {stray}, which are not dimensions after the in_channels one ({dims[1]})")
        object.__setattr__(self, "sized_by", MappingProxyType(dict(self.sized_by)))  # frozen all the way down

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.layout.split())

    @property
    def sample_dims(self) -> tuple[str, ...]:
        """The dimensions of one sample (the layout without B): what ``Corpus.load_clip`` returns."""
        return self.dims[1:]

    @property
    def has_views(self) -> bool:
        """Whether a sample stacks several camera views (a ``V`` dimension)."""
        return "V" in self.dims

    def __str__(self) -> str:
        return f"({', '.join(self.dims)})"


CLIPS = InputSpec("B C T H W")
IMAGES = InputSpec("B C H W")


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
