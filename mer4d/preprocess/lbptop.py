"""LBP-TOP: local binary patterns on three orthogonal planes (Zhao & Pietikaeinen, TPAMI 2007).

``algorithms.md`` §5. A gray clip ``(T, H, W)`` gives, for every *centre* voxel ``(t, y, x)``, three
LBP codes, one per plane through it, each from ``P`` samples on a circle or ellipse (``theta_p = 2 pi p / P``):

- **XY**: ``(t, y - R_Y sin theta_p, x + R_X cos theta_p)``
- **XT**: ``(t + R_T sin theta_p, y, x + R_X cos theta_p)``
- **YT**: ``(t + R_T cos theta_p, y - R_Y sin theta_p, x)``

Bit ``p`` is 1 when ``g_p >= g_centre``; the code is ``sum_p bit_p 2**p``. Codes are mapped to the
``P(P-1)+3`` (59 for P = 8) non-rotation-invariant uniform ("u2") bins of :func:`uniform_lut`, then
counted in one histogram per spatial block and plane.

Conventions (chosen so that the XY plane matches scikit-image's ``local_binary_pattern`` bit for bit):

- **Sampling**: every offset ``R cos theta_p`` / ``R sin theta_p`` is rounded to 5 decimals, as
  scikit-image does, so on-grid samples (e.g. ``theta = pi/2``) are read exactly. Off-grid samples
  are bilinear in the plane, with scikit-image's formula and evaluation order: with ``r = a + o_a``
  and ``c = b + o_b`` (``a`` the first in-plane axis: y for XY, t for XT and YT; ``b`` the second:
  x for XY and XT, y for YT), ``dr = r - floor(r)``, ``dc = c - floor(c)``,
  ``g = (1 - dr) ((1 - dc) I[fr, fc] + dc I[fr, cc]) + dr ((1 - dc) I[cr, fc] + dc I[cr, cc])``
  (``f``/``c`` = floor/ceil). Values are computed in float64, as scikit-image does.
- **Border**: only voxels whose whole neighbourhood lies inside the clip are centres, for all three
  planes alike: ``t`` in ``[m_T, T-1-m_T]``, ``y`` in ``[m_Y, H-1-m_Y]``, ``x`` in ``[m_X, W-1-m_X]``
  with ``m = ceil(R)`` per axis. No padding. The XY plane also uses only these frames (§5 "Histograms").
- **Blocks**: the full frame is split into ``blocks_y x blocks_x`` blocks; pixel row ``y`` is in
  block row ``floor(y * blocks_y / H)`` (same for columns), and a block counts the centres inside it,
  so border blocks have fewer centres. Every block must hold at least one centre.
- **Feature order**: block row-major (``by * blocks_x + bx``), then plane XY, XT, YT, then bin;
  each (block, plane) histogram sums to 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.shapes import check_shape

#: Plane order of the feature vector and of :func:`lbp_top_codes`.
PLANES = ("XY", "XT", "YT")

_MAX_NEIGHBOURS = 16  # the lookup table has 2**P entries


def num_bins(neighbours: int = 8) -> int:
    """Number of u2 bins for ``neighbours`` samples: ``P(P-1) + 3`` (59 for P = 8)."""
    p = _check_neighbours(neighbours)
    return p * (p - 1) + 3


def uniform_lut(P: int = 8) -> np.ndarray:
    """Map every P-bit LBP code to its non-rotation-invariant uniform ("u2") bin.

    Numbering is scikit-image's ``local_binary_pattern(..., method="nri_uniform")``, so histograms
    compare bin for bin. Bit ``i`` of the code is sample ``i``. With ``k`` the number of ones:

    - bin 0: no ones; bin ``P(P-1) + 1``: all ones;
    - a uniform code with ``0 < k < P`` ones (one circular run of ones, i.e. at most 2 bit changes
      around the circle) goes to ``1 + (k-1) P + j``, where ``j = P - first_one`` when bit 0 is 0,
      and ``j = k - first_zero`` when bit 0 is 1 (the run wraps around); ``j`` is in ``1..P``;
    - every non-uniform code goes to the last bin ``P(P-1) + 2``.

    Args:
        P: number of neighbours, 2 <= P <= 16.

    Returns:
        (2**P,) int64 bins in ``[0, P(P-1)+2]``.

    Raises:
        RecipeError: P is not an integer in [2, 16].

    Example:
        >>> lut = uniform_lut(8)
        >>> lut.shape, int(lut.max()) + 1, int(lut[0]), int(lut[255])
        ((256,), 59, 0, 57)
    """
    p = _check_neighbours(P)
    codes = np.arange(2**p, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(p)) & 1  # (2**P, P), column i = sample i
    # Changes along the open chain 0..P-1; <= 2 is the same as <= 2 around the circle (the count
    # around the circle is even and exceeds the open count by at most one).
    changes = np.count_nonzero(bits[:, 1:] != bits[:, :-1], axis=1)
    ones = bits.sum(axis=1)
    first_one = np.argmax(bits == 1, axis=1)
    first_zero = np.argmax(bits == 0, axis=1)
    rotation = np.where(first_one == 0, ones - first_zero, p - first_one)
    lut = 1 + (ones - 1) * p + rotation
    lut = np.where(ones == 0, 0, lut)
    lut = np.where(ones == p, p * (p - 1) + 1, lut)
    return np.where(changes > 2, p * (p - 1) + 2, lut).astype(np.int64)


def lbp_top_codes(
    clip: Any, radii: tuple[float, float, float] = (1, 1, 2), neighbours: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw LBP codes of the three planes at every centre voxel (see the module docstring).

    Args:
        clip: (T, H, W) gray clip, any real dtype (computed in float64).
        radii: ``(R_X, R_Y, R_T)``, each > 0.
        neighbours: P, samples per plane, 2 <= P <= 16.

    Returns:
        ``(xy, xt, yt)`` int64 code maps, each (T', H', W') = ``(T - 2 m_T, H - 2 m_Y, W - 2 m_X)``
        with ``m = ceil(R)``; entry ``[i, j, k]`` is the centre ``(m_T + i, m_Y + j, m_X + k)``.

    Raises:
        ShapeError: clip is not (T, H, W) or is too small for the radii.
        RecipeError: bad radii or neighbours.
    """
    volume, margins = _prepare(clip, radii, neighbours)
    rx, ry, rt = (float(r) for r in radii)
    theta = 2.0 * np.pi * np.arange(neighbours, dtype=np.float64) / neighbours
    sin, cos = np.sin(theta), np.cos(theta)
    # (axis a, axis b, offsets along a, offsets along b), offsets rounded as scikit-image does.
    planes = (
        (1, 2, -ry * sin, rx * cos),  # XY: a = y, b = x
        (0, 2, rt * sin, rx * cos),  # XT: a = t, b = x
        (0, 1, rt * cos, -ry * sin),  # YT: a = t, b = y
    )
    centre = volume[tuple(slice(m, n - m) for m, n in zip(margins, volume.shape, strict=True))]
    out = []
    for axis_a, axis_b, off_a, off_b in planes:
        code = np.zeros(centre.shape, dtype=np.int64)
        for p, (oa, ob) in enumerate(zip(np.round(off_a, 5), np.round(off_b, 5), strict=True)):
            sample = _bilinear(volume, margins, axis_a, float(oa), axis_b, float(ob))
            code |= (sample >= centre).astype(np.int64) << p
        out.append(code)
    return out[0], out[1], out[2]


def lbp_top(
    clip: Any, blocks: tuple[int, int] = (5, 5), radii: tuple[float, float, float] = (1, 1, 2), neighbours: int = 8
) -> np.ndarray:
    """LBP-TOP feature vector of one gray clip: u2 histograms per spatial block and plane.

    Args:
        clip: (T, H, W) gray clip (e.g. TIM/length-normalised, aligned face crop).
        blocks: ``(blocks_y, blocks_x)`` spatial grid, one temporal block.
        radii: ``(R_X, R_Y, R_T)``; the default is the platform default of §5.
        neighbours: P per plane (8 gives 59 bins).

    Returns:
        (blocks_y * blocks_x * 3 * num_bins(P),) float32, ordered block row-major, then plane
        (XY, XT, YT), then bin; every (block, plane) slice of ``num_bins(P)`` sums to 1.
        5 x 5 blocks, P = 8: 4425 values.

    Raises:
        ShapeError: clip is not (T, H, W), is too small for the radii, or some block holds no centre.
        RecipeError: bad blocks, radii or neighbours.

    Example:
        >>> clip = np.random.default_rng(0).random((5, 20, 20))
        >>> lbp_top(clip).shape
        (4425,)
    """
    by, bx = _check_blocks(blocks)
    codes = lbp_top_codes(clip, radii, neighbours)
    _, height, width = np.shape(clip)
    _, my, mx = _margins(radii)
    rows = _block_index(np.arange(my, height - my), by, height, "blocks_y", "H")
    cols = _block_index(np.arange(mx, width - mx), bx, width, "blocks_x", "W")
    block = (rows[:, None] * bx + cols[None, :])[None]  # (1, H', W')
    lut, nb = uniform_lut(neighbours), num_bins(neighbours)
    hist = np.stack(
        [np.bincount((block * nb + lut[c]).ravel(), minlength=by * bx * nb).reshape(by * bx, nb) for c in codes], axis=1
    ).astype(np.float64)  # (blocks, 3, bins)
    hist /= hist.sum(axis=-1, keepdims=True)
    return hist.astype(np.float32).ravel()


def _bilinear(volume: np.ndarray, margins: tuple[int, int, int], axis_a: int, oa: float, axis_b: int, ob: float) -> np.ndarray:
    """Sample ``volume`` at every centre shifted by ``oa`` along ``axis_a`` and ``ob`` along ``axis_b``."""
    shape = volume.shape
    lo, hi, frac = {}, {}, {}
    for axis, off in ((axis_a, oa), (axis_b, ob)):
        idx = np.arange(margins[axis], shape[axis] - margins[axis], dtype=np.float64)
        pos = idx + off  # per-centre fractions, computed like scikit-image for bit-equal results
        lo[axis], hi[axis] = math.floor(off), math.ceil(off)
        view = [1, 1, 1]
        view[axis] = -1
        frac[axis] = (pos - np.floor(pos)).reshape(view)

    def corner(da: int, db: int) -> np.ndarray:
        index = []
        for axis in range(3):
            shift = {axis_a: da, axis_b: db}.get(axis, 0)
            index.append(slice(margins[axis] + shift, shape[axis] - margins[axis] + shift))
        return volume[tuple(index)]

    dr, dc = frac[axis_a], frac[axis_b]
    top = (1 - dc) * corner(lo[axis_a], lo[axis_b]) + dc * corner(lo[axis_a], hi[axis_b])
    bottom = (1 - dc) * corner(hi[axis_a], lo[axis_b]) + dc * corner(hi[axis_a], hi[axis_b])
    return (1 - dr) * top + dr * bottom


def _prepare(clip: Any, radii: Any, neighbours: Any) -> tuple[np.ndarray, tuple[int, int, int]]:
    _check_neighbours(neighbours)
    margins = _margins(radii)
    if not hasattr(clip, "shape"):
        clip = np.asarray(clip)
    sizes = check_shape(clip, "T H W", "clip")
    for (symbol, radius_name), margin in zip((("T", "R_T"), ("H", "R_Y"), ("W", "R_X")), margins, strict=True):
        if sizes[symbol] < 2 * margin + 1:
            raise ShapeError(
                f"lbp_top: clip {symbol} = {sizes[symbol]} is too small for {radius_name} (margin {margin}): expected "
                f"{symbol} >= {2 * margin + 1}, found shape {tuple(clip.shape)}; length-normalise (TIM) or use a smaller radius",
                "T H W",
                tuple(clip.shape),
            )
    volume = np.asarray(clip)
    if not (np.issubdtype(volume.dtype, np.integer) or np.issubdtype(volume.dtype, np.floating) or volume.dtype == bool):
        raise ShapeError(f"lbp_top: expected a real-valued gray clip, found dtype {volume.dtype}", "T H W", tuple(volume.shape))
    # margins are ordered (T, Y, X) to match the volume axes
    return np.ascontiguousarray(volume, dtype=np.float64), (margins[0], margins[1], margins[2])


def _margins(radii: Any) -> tuple[int, int, int]:
    """``(m_T, m_Y, m_X)`` = ceil of ``(R_T, R_Y, R_X)`` from ``radii = (R_X, R_Y, R_T)``."""
    try:
        values = tuple(float(r) for r in radii)
    except (TypeError, ValueError):
        raise RecipeError(f"lbp_top: expected radii (R_X, R_Y, R_T) as three numbers, got {radii!r}") from None
    if len(values) != 3 or not all(math.isfinite(r) and r > 0 for r in values):
        raise RecipeError(f"lbp_top: expected radii (R_X, R_Y, R_T) as three finite numbers > 0, got {radii!r}")
    rx, ry, rt = values
    return math.ceil(rt), math.ceil(ry), math.ceil(rx)


def _check_neighbours(neighbours: Any) -> int:
    if isinstance(neighbours, bool) or not isinstance(neighbours, (int, np.integer)) or not 2 <= neighbours <= _MAX_NEIGHBOURS:
        raise RecipeError(f"lbp_top: expected neighbours P as an integer in [2, {_MAX_NEIGHBOURS}], got {neighbours!r}")
    return int(neighbours)


def _check_blocks(blocks: Any) -> tuple[int, int]:
    ok = isinstance(blocks, (tuple, list)) and len(blocks) == 2
    ok = ok and all(not isinstance(b, bool) and isinstance(b, (int, np.integer)) and b >= 1 for b in blocks)
    if not ok:
        raise RecipeError(f"lbp_top: expected blocks (blocks_y, blocks_x) as two integers >= 1, got {blocks!r}")
    return int(blocks[0]), int(blocks[1])


def _block_index(centres: np.ndarray, count: int, size: int, name: str, symbol: str) -> np.ndarray:
    """Block of each centre coordinate; every block must get at least one centre."""
    index = centres * count // size
    filled = np.bincount(index, minlength=count)
    if np.any(filled == 0):
        raise ShapeError(
            f"lbp_top: {name} = {count} leaves {int(np.sum(filled == 0))} block(s) without a centre pixel "
            f"({symbol} = {size}, centres {int(centres[0])}..{int(centres[-1])}); expected every block "
            f"to hold a centre, use fewer blocks, a smaller radius or a larger clip",
            "T H W",
            None,
        )
    return index
