"""Approximate rank pooling (ARP): a clip of T frames becomes one *dynamic image* (DI).

Bilen et al., "Dynamic Image Networks", CVPR 2016 / TPAMI 2017 (``algorithms.md`` §1). Rank pooling
(Fernando et al., CVPR 2015) learns a linear scorer whose score grows with time; ARP takes one
gradient step from zero instead, which gives a fixed linear combination of the raw frames:

    DI = sum_t alpha_t I_t,   alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}),   t = 1..T,

with H_k the k-th harmonic number. The coefficients sum to zero, so whatever is static in the clip
cancels and only the change survives. Every channel is pooled with the same coefficients.

Layout: frames ``(..., T, C, H, W)`` by default (any leading dims, e.g. a batch ``B`` or views
``V``); ``dim`` names another time axis, e.g. ``dim=2`` for clips ``(B, C, T, H, W)``. The DI is
the input without its time axis, and the last three axes of the DI are taken as one image for the
per-image normalisations.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from mer4d.core.errors import RecipeError, ShapeError

#: ``normalize`` choices of :func:`dynamic_image` (``algorithms.md`` §1 "Recommended normalisation").
NORMALIZATIONS = ("none", "abs_sum", "minmax", "standardize")


def arp_coefficients(num_frames: int) -> np.ndarray:
    """ARP weights ``alpha_t`` for a clip of ``num_frames`` frames, applied to the raw frames.

    ``alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1})`` (Bilen et al. 2016, closed form; equal to
    the loop form ``sum_{i=t..T} (2i - T - 1) / i`` of ``vl_nnarpooltemporal.m``). They already hold
    the time-varying-mean smoothing of rank pooling, so do not average the frames beforehand.

    Args:
        num_frames: T >= 1.

    Returns:
        (T,) float64 coefficients, summing to zero for T >= 2. T = 1 gives ``[1.0]``: the formula
        would give 0, and the reference code special-cases a single frame to pass it through.

    Raises:
        ShapeError: T is not an integer >= 1.

    Example:
        >>> arp_coefficients(3).round(4).tolist()
        [-1.3333, 0.6667, 0.6667]
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ShapeError(f"arp_coefficients: expected a frame count T >= 1, got {num_frames!r}", "T", None)
    count = int(num_frames)
    if count == 1:
        return np.ones(1)
    t = np.arange(1, count + 1, dtype=np.float64)
    # H_T - H_{t-1} = sum_{i=t..T} 1/i, summed from the small end: no cancellation between two large H's.
    tail_harmonic = np.cumsum((1.0 / t)[::-1])[::-1]
    return 2.0 * (count - t + 1.0) - (count + 1.0) * tail_harmonic


def dynamic_image(
    frames: Any,
    dim: int = -4,
    normalize: str = "none",
    percentiles: tuple[float, float] | None = None,
) -> Any:
    """Pool a clip (or a batch of clips) into dynamic images by approximate rank pooling.

    One matrix product along the time axis, no loop over frames: ``DI = sum_t alpha_t frames[t]``
    with :func:`arp_coefficients`, evaluated as ``sum_{t>=2} alpha_t (frames[t] - frames[1])``
    (the same, since the alpha_t sum to zero), so a static clip gives exactly 0. A single frame
    (T = 1) comes back as it is. Frame order matters (onset -> offset); a reversed clip does not
    give the negated DI.

    Args:
        frames: (..., T, C, H, W) torch tensor or numpy array (at least 4 dimensions), or any layout
            with the time axis named by ``dim`` whose last three non-time axes form one image.
            Integer frames (uint8) are pooled in float32; floating frames keep their dtype.
        dim: the time axis T (default -4, i.e. ``(..., T, C, H, W)``).
        normalize: per-DI rescaling (``algorithms.md`` §1 "Recommended normalisation"):

            * ``"none"`` (default): the raw ARP sum, as defined by Bilen et al. and computed by the
              reference code. The pooling stays linear and unscaled, so callers (and caches) see the
              published operator and choose a normalisation where the DI meets a 2D CNN.
            * ``"abs_sum"``: divide by ``sum_t |alpha_t|``. The DI magnitude grows roughly like T;
              this makes clips of different length comparable and keeps the operator linear.
            * ``"minmax"``: per DI to [0, 1] (Bilen's visualisation, CCDN style); a constant DI
              (e.g. a static clip) gives zeros.
            * ``"standardize"``: per DI zero mean and unit standard deviation; the option §1 calls
              more robust to clip length. A constant DI gives zeros.
        percentiles: ``(low, high)`` in percent, only with ``"minmax"``: clip the DI to these
            per-DI percentiles first, so outliers (hair, background edges) do not set the range
            (§1 pitfalls suggest ``(1, 99)``).

    Returns:
        the DI(s), shape ``frames.shape`` without the time axis (``(..., C, H, W)`` by default),
        as a torch tensor on the input's device, or a numpy array when ``frames`` is numpy.

    Raises:
        ShapeError: fewer than 4 dimensions, ``dim`` out of range, or T = 0.
        RecipeError: unknown ``normalize`` or bad ``percentiles``.

    Example:
        >>> import torch
        >>> clip = torch.zeros(2, 10, 3, 8, 8); clip[:, 5:] = 1.0   # something appears at t = 6
        >>> dynamic_image(clip).shape
        torch.Size([2, 3, 8, 8])
    """
    if normalize not in NORMALIZATIONS:
        raise RecipeError(f"dynamic_image: unknown normalize {normalize!r}; expected one of {', '.join(NORMALIZATIONS)}")
    if percentiles is not None and normalize != "minmax":
        raise RecipeError(f"dynamic_image: percentiles apply only to normalize='minmax', got normalize={normalize!r}")
    is_numpy = isinstance(frames, np.ndarray)
    x = _from_numpy(frames) if is_numpy else frames
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"frames: expected a torch tensor or numpy array of shape (..., T, C, H, W), got {type(frames).__name__}", "... T C H W", None)
    axis = _time_axis(x, dim)
    if x.shape[axis] == 0:
        raise ShapeError(f"frames: expected at least one frame on the time axis {dim}, got shape {tuple(x.shape)}", "... T C H W", tuple(x.shape))
    if not x.is_floating_point():
        x = x.to(torch.float32)
    di = _pool(x, axis)
    di = _normalize(di, normalize, percentiles, x.shape[axis])
    return di.numpy() if is_numpy else di


class DynamicImage(nn.Module):
    """Thin module around :func:`dynamic_image` (ARP layer for end-to-end DI networks).

    Args:
        dim, normalize, percentiles: as :func:`dynamic_image`.
        scale: multiplies the DI; Bilen's end-to-end nets use ``AppRankPooling('scale', 0.1)`` on
            mean-subtracted frames (``algorithms.md`` §1 reference details).
    """

    def __init__(self, dim: int = -4, normalize: str = "none", percentiles: tuple[float, float] | None = None, scale: float = 1.0):
        super().__init__()
        if normalize not in NORMALIZATIONS:
            raise RecipeError(f"DynamicImage: unknown normalize {normalize!r}; expected one of {', '.join(NORMALIZATIONS)}")
        self.dim, self.normalize, self.percentiles, self.scale = dim, normalize, percentiles, float(scale)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        di = dynamic_image(frames, dim=self.dim, normalize=self.normalize, percentiles=self.percentiles)
        return di * self.scale if self.scale != 1.0 else di

    def extra_repr(self) -> str:
        return f"dim={self.dim}, normalize={self.normalize!r}, scale={self.scale}"


def _from_numpy(frames: np.ndarray) -> torch.Tensor:
    frames = np.ascontiguousarray(frames)
    if frames.flags.writeable:
        return torch.from_numpy(frames)
    # Read-only arrays (memory maps, cached clips) are only read here; skip torch's warning, not the data.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(frames)


def _time_axis(x: torch.Tensor, dim: int) -> int:
    if x.ndim < 4:
        raise ShapeError(f"frames: expected shape (..., T, C, H, W) with at least 4 dimensions, got {tuple(x.shape)}", "... T C H W", tuple(x.shape))
    if isinstance(dim, bool) or not isinstance(dim, int) or not -x.ndim <= dim < x.ndim:
        raise ShapeError(f"frames: time axis dim={dim!r} is out of range for shape {tuple(x.shape)}", "... T C H W", tuple(x.shape))
    return dim % x.ndim


def _pool(x: torch.Tensor, axis: int) -> torch.Tensor:
    count = x.shape[axis]
    lead, rest = x.shape[:axis], x.shape[axis + 1:]
    # (L, T, R) is a view of a contiguous clip, so the product below needs no transpose copy.
    flat = x.reshape(int(np.prod(lead, dtype=np.int64)), count, int(np.prod(rest, dtype=np.int64)))
    if count == 1:
        return flat[:, 0].clone().reshape(*lead, *rest)
    alpha = torch.from_numpy(arp_coefficients(count)[1:]).to(device=x.device, dtype=x.dtype)
    # sum_t alpha_t = 0, so pooling the changes from the first frame is the same DI; but a static clip
    # then gives exactly 0, and the large static content no longer cancels inside rounded sums.
    changes = flat[:, 1:] - flat[:, :1]
    return torch.matmul(alpha, changes).reshape(*lead, *rest)


def _normalize(di: torch.Tensor, normalize: str, percentiles: tuple[float, float] | None, count: int) -> torch.Tensor:
    if normalize == "none":
        return di
    if normalize == "abs_sum":
        return di / float(np.abs(arp_coefficients(count)).sum())
    image_axes = (-3, -2, -1)
    if normalize == "standardize":
        mean = di.mean(dim=image_axes, keepdim=True)
        std = di.std(dim=image_axes, keepdim=True, unbiased=False)
        return (di - mean) / torch.where(std > 0, std, torch.ones_like(std))
    if percentiles is not None:
        di = _clip_percentiles(di, percentiles)
    low = di.amin(dim=image_axes, keepdim=True)
    span = di.amax(dim=image_axes, keepdim=True) - low
    return (di - low) / torch.where(span > 0, span, torch.ones_like(span))


def _clip_percentiles(di: torch.Tensor, percentiles: tuple[float, float]) -> torch.Tensor:
    try:
        low_pct, high_pct = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise RecipeError(f"dynamic_image: percentiles must be (low, high) in percent, got {percentiles!r}") from None
    if not 0.0 <= low_pct < high_pct <= 100.0:
        raise RecipeError(f"dynamic_image: percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    flat = di.reshape(*di.shape[:-3], -1)
    size = flat.shape[-1]
    # Nearest-rank percentiles with kthvalue: torch.quantile refuses inputs over 2**24 elements.
    low = flat.kthvalue(1 + round(low_pct / 100.0 * (size - 1)), dim=-1, keepdim=True).values
    high = flat.kthvalue(1 + round(high_pct / 100.0 * (size - 1)), dim=-1, keepdim=True).values
    return torch.minimum(torch.maximum(flat, low), high).reshape(di.shape)
