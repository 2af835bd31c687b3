"""Image domains computed from rendered views: DPI, E-DPI and gray texture (``algorithms.md`` §2).

All functions take whole clips per view, ``(T, V, H, W)``, because DPI is normalised per *clip*:
per-frame min/max would rescale each frame differently and cancel the very motion we look for.

E-DPI: the CCDN paper's formula is not public. Candidates (``EDPI_METHODS``):

* ``"highpass"`` (default): ``DPI + gain * (DPI - GaussianBlur(DPI, sigma))`` inside the face mask.
  It is linear in the depth, so it keeps the per-clip normalisation (and the motion) intact, and
  it makes fine relief (brow bulges, nasolabial folds) visible the way CCDN's "enhanced" images
  are described.
* ``"clahe"``: OpenCV CLAHE (clip 2.0, 8x8 tiles) on each DPI frame. Contrast is adapted per frame
  and per tile, so it can hide or fake sub-millimetre changes; offered for comparison.
* ``"mix"``: gray texture x DPI, the "cross-domain" reading of the name (depth-weighted albedo).
"""

from __future__ import annotations

import numpy as np

from mer4d.core.errors import RecipeError
from mer4d.core.shapes import check_shape

EDPI_METHODS = ("highpass", "clahe", "mix")
DPI_FLOOR = 0.05
"""The farthest face pixel's DPI value, so the face never merges with the 0 background."""


FLAT_RELATIVE = 1e-5
"""A view whose face depths spread less than this fraction of their distance is flat (float32
rounding is ~1e-7 of the distance; a face's relief is several percent of it)."""


def dpi(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Depth projection images: nearer is brighter, per clip and view, background 0.

    Args:
        depth: (T, V, H, W) float depth in mm along each view's axis (NaN where nothing was hit).
        mask: (T, V, H, W) bool, the face pixels.

    Returns:
        (T, V, H, W) float32 in [0, 1]: ``DPI_FLOOR + (1 - DPI_FLOOR) * (far - d) / (far - near)``
        with near/far the clip's nearest and farthest face depth in that view.
    """
    check_shape(depth, "T V H W", name="depth")
    check_shape(mask, "T V H W", name="mask")
    out = np.zeros(depth.shape, dtype=np.float32)
    for v in range(depth.shape[1]):
        inside = mask[:, v]
        if not inside.any():
            continue
        values = depth[:, v][inside]
        near, far = float(values.min()), float(values.max())
        if far - near <= FLAT_RELATIVE * max(abs(near), abs(far)):
            # A surface facing the camera flat-on: the spread is float rounding of the depth, which
            # stretching to the full range would turn into speckle. It is all equally far.
            out[:, v][inside] = DPI_FLOOR
            continue
        out[:, v][inside] = DPI_FLOOR + (1.0 - DPI_FLOOR) * (far - values) / (far - near)
    return out


def edpi(dpi_frames: np.ndarray, mask: np.ndarray, method: str = "highpass", gray: np.ndarray | None = None, sigma: float = 3.0, gain: float = 1.0) -> np.ndarray:
    """Enhanced DPI by one of :data:`EDPI_METHODS` (see the module docstring).

    Args:
        dpi_frames: (T, V, H, W) float32 DPI from :func:`dpi`.
        mask: (T, V, H, W) bool face mask.
        method: "highpass", "clahe" or "mix".
        gray: (T, V, H, W) float gray texture in [0, 1]; needed by "mix".
        sigma: Gaussian blur in pixels for "highpass".
        gain: how much of the high-pass detail is added back for "highpass".

    Returns:
        (T, V, H, W) float32 in [0, 1], 0 outside the mask.
    """
    import cv2

    check_shape(dpi_frames, "T V H W", name="dpi_frames")
    if method not in EDPI_METHODS:
        raise RecipeError(f"unknown E-DPI method {method!r}; expected one of {', '.join(EDPI_METHODS)}")
    t, v, h, w = dpi_frames.shape
    flat = dpi_frames.reshape(t * v, h, w)
    if method == "mix":
        if gray is None:
            raise RecipeError("E-DPI method 'mix' multiplies the gray texture by the DPI; render the texture domain too")
        check_shape(gray, f"{t} {v} {h} {w}", name="gray")
        out = dpi_frames * gray
    elif method == "highpass":
        # Blur only the face: normalised convolution, so the 0 background does not darken the rim.
        m = mask.reshape(t * v, h, w).astype(np.float32)
        blur = np.stack([cv2.GaussianBlur(f * k, (0, 0), sigma) for f, k in zip(flat, m, strict=True)])
        weight = np.stack([cv2.GaussianBlur(k, (0, 0), sigma) for k in m])
        smooth = np.divide(blur, weight, out=np.zeros_like(blur), where=weight > 1e-3)
        out = (flat + gain * (flat - smooth)).reshape(t, v, h, w)
    else:
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        out = np.stack([clahe.apply(np.round(f * 255).astype(np.uint8)) for f in flat]).reshape(t, v, h, w) / np.float32(255.0)
    return np.where(mask, np.clip(out, 0.0, 1.0), 0.0).astype(np.float32)


def gray_texture(texture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(T, V, H, W, 3) RGB in [0, 1] -> (T, V, H, W) float32 luminance (ITU-R BT.601), 0 off the face."""
    check_shape(texture, "T V H W 3", name="texture")
    lum = texture @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.where(mask, lum, 0.0).astype(np.float32)
