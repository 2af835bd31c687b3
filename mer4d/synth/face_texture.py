"""The face's procedural albedo texture, painted in UV space from the identity's colours.

Each texel is mapped back to its frontal (x, y) on the head surface (u follows yaw, v pitch, as in
the mesh's uvs) and painted with the same feature curves the geometry uses, so the brows, lips and
eye openings land exactly on their bumps and dents. No shading is baked in: the renderer lights it.
The painted mouth line and the eye whites matter for motion: when AU25 parts the lips the dark line
stretches into a gap, and when a blink squeezes the eye opening the whites vanish under lid skin.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from mer4d.synth.face_layout import PITCH_RANGE_DEG, YAW_RANGE_DEG, FaceLayout, gauss, smoothstep
from mer4d.synth.face_relief import SIDES
from mer4d.synth.identity import Identity

_SCLERA = np.array([0.93, 0.90, 0.86], dtype=np.float32)
_MOUTH_DARK = np.array([0.22, 0.08, 0.08], dtype=np.float32)
_NOSTRIL = np.array([0.16, 0.08, 0.07], dtype=np.float32)


def paint_texture(identity: Identity, layout: FaceLayout, shape: tuple[int, int]) -> np.ndarray:
    """Paint the albedo texture.

    Args:
        identity: colours and ``texture_seed``.
        layout: feature positions (from the same identity).
        shape: (Ht, Wt) texture size in texels.

    Returns:
        (Ht, Wt, 3) uint8 RGB, row 0 at the top (v = 1).
    """
    height, width = shape
    rng = np.random.default_rng(identity.texture_seed)
    u = (np.arange(width) + 0.5) / width
    v = 1.0 - (np.arange(height) + 0.5) / height
    yaw = math.radians(YAW_RANGE_DEG[0]) + u * math.radians(YAW_RANGE_DEG[1] - YAW_RANGE_DEG[0])
    pitch = math.radians(PITCH_RANGE_DEG[0]) + v * math.radians(PITCH_RANGE_DEG[1] - PITCH_RANGE_DEG[0])
    x, y, z0 = layout.base_surface(yaw[None, :], pitch[:, None])
    front = layout.front_weight(z0)
    # One millimetre in texels, roughly, for sizing the noise kernels.
    px_per_mm = width / (math.radians(YAW_RANGE_DEG[1] - YAW_RANGE_DEG[0]) * 0.5 * (layout.a + layout.c))

    x, y, front = x.astype(np.float32), y.astype(np.float32), front.astype(np.float32)

    image = _skin(identity, layout, x, y, rng, shape, px_per_mm)
    # Features are painted on crops around them: a full-texture pass per feature costs ~10x more.
    lay = layout
    for side in SIDES:
        dy = lay.side_dy(side)
        crop = _crop(x, y, front, side, (lay.brow_inner_x - 3.0, lay.brow_outer_x + 2.0), (lay.brow_y + dy - 8.0, lay.brow_y + dy + lay.brow_arch + 6.0))
        if crop is not None:
            xs, yc = side * x[crop], y[crop]
            alpha = _brow_alpha(lay, xs, yc, side) * (0.55 + 0.45 * _streaks(rng, xs.shape, px_per_mm)) * front[crop]
            _blend(image[crop], alpha, identity.brow_rgb)
        crop = _crop(x, y, front, side, (lay.eye_x - lay.eye_half_width - 2.0, lay.eye_x + lay.eye_half_width + 2.0),
                     (lay.eye_y + dy - lay.canthal_tilt - lay.lid_down - 3.0, lay.eye_y + dy + lay.canthal_tilt + lay.lid_up + 6.0))
        if crop is not None:
            _paint_eye(image[crop], identity, lay, side * x[crop], y[crop], side, front[crop])
        crop = _crop(x, y, front, side, (2.0, 10.0), (lay.subnasale_y - 1.0, lay.subnasale_y + 4.0))
        if crop is not None:
            xs, yc = side * x[crop], y[crop]
            nostril = 1.0 - smoothstep(0.7, 1.1, np.hypot((xs - 6.0) / 2.8, (yc - lay.subnasale_y - 1.5) / 1.6))
            _blend(image[crop], nostril * front[crop], _NOSTRIL)
    top = float(lay.mouth_line(np.array(lay.mouth_half_width))) + lay.asymmetry + lay.upper_red + 2.0
    crop = _crop(x, y, front, 1.0, (-lay.mouth_half_width - 2.0, lay.mouth_half_width + 2.0), (lay.mouth_y - lay.lower_red - 2.0, top))
    if crop is not None:
        _paint_lips(image[crop], identity, lay, x[crop], y[crop], front[crop])
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _crop(x, y, front, side: float, xs_range, y_range, step: int = 4) -> tuple[slice, slice] | None:
    """Bounding texel box of the face-front texels with ``side * x`` and ``y`` inside the given ranges.

    Searched on every ``step``-th texel (x and y change by well under a millimetre per step) and
    widened by one step, which is 16x cheaper than testing every texel.
    """
    xs, ys = side * x[::step, ::step], y[::step, ::step]
    mask = (xs >= xs_range[0]) & (xs <= xs_range[1]) & (ys >= y_range[0]) & (ys <= y_range[1]) & (front[::step, ::step] > 0.0)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    r0, r1 = max(int(rows[0]) - 1, 0) * step, min((int(rows[-1]) + 2) * step, x.shape[0])
    c0, c1 = max(int(cols[0]) - 1, 0) * step, min((int(cols[-1]) + 2) * step, x.shape[1])
    return slice(r0, r1), slice(c0, c1)


def _blend(image: np.ndarray, alpha: np.ndarray, color) -> None:
    """In place: ``image = (1 - alpha) * image + alpha * color``; ``alpha`` is (H, W)."""
    image += alpha[..., None] * (np.asarray(color, dtype=np.float32) - image)


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-std blurred white noise, float32 (H, W).

    Two box-filter passes per axis (running sums, cost independent of the width) approximate a
    Gaussian of standard deviation ``sigma_px`` at a fraction of ``gaussian_filter``'s cost.
    """
    n = rng.standard_normal(shape, dtype=np.float32)
    size = max(int(round(sigma_px * 1.7)), 1)
    for _ in range(2):
        n = ndimage.uniform_filter(n, size=size, mode="wrap")
    return n / (n.std() + 1e-8)


def _skin(identity, layout, x, y, rng, shape, px_per_mm) -> np.ndarray:
    """Skin albedo with broad blotches, fine mottling and rosy cheeks, (H, W, 3) float32."""
    # Broad blotches: a 12x16 random grid interpolated with Gaussian bases, separably (two small matmuls).
    low = rng.standard_normal((12, 16)).astype(np.float32)
    broad = _bases(shape[0], 12) @ low @ _bases(shape[1], 16).T
    broad = broad / (broad.std() + 1e-8)
    fine = _noise(rng, shape, 0.8 * px_per_mm)
    shade = 1.0 + 0.05 * broad + 0.025 * fine
    image = shade[..., None] * np.asarray(identity.skin_rgb, dtype=np.float32)
    cheeks = _crop(x, y, np.ones_like(x), 1.0, (-70.0, 70.0), (layout.cheek_y - 35.0, layout.cheek_y + 25.0))
    if cheeks is not None:
        xc, yc = x[cheeks], y[cheeks]
        rosy = sum(gauss(side * xc - layout.cheek_x + 4.0, yc - layout.cheek_y + 6.0, 14.0, 10.0) for side in SIDES)
        image[cheeks] += (0.05 * rosy)[..., None] * np.array([1.0, -0.4, -0.3], dtype=np.float32)
    return image


def _bases(n: int, k: int) -> np.ndarray:
    """(n, k) float32 Gaussian interpolation weights from ``k`` evenly spaced knots to ``n`` samples."""
    centres = (np.arange(k) + 0.5) / k
    t = (np.arange(n) + 0.5) / n
    w = np.exp(-0.5 * ((t[:, None] - centres[None, :]) * k / 0.8) ** 2)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _streaks(rng, shape, px_per_mm) -> np.ndarray:
    """Hair-like streaks in [0, 1]: noise blurred much more along u than along v."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma=(0.25 * px_per_mm, 1.5 * px_per_mm), mode="nearest", truncate=2.5)
    return smoothstep(-1.0, 1.0, n / (n.std() + 1e-8))


def _brow_alpha(layout: FaceLayout, xs, y, side: float) -> np.ndarray:
    """Brow coverage: a band along the brow line, thick at the head and thin at the tail."""
    t = np.clip((xs - layout.brow_inner_x) / (layout.brow_outer_x - layout.brow_inner_x), 0.0, 1.0)
    half = 0.5 * (6.0 - 3.0 * t)
    across = 1.0 - smoothstep(half - 0.7, half + 0.7, np.abs(y - layout.brow_y_at(xs, side)))
    ends = smoothstep(layout.brow_inner_x - 2.0, layout.brow_inner_x + 1.5, xs) * (1.0 - smoothstep(layout.brow_outer_x - 3.0, layout.brow_outer_x + 1.0, xs))
    return 0.92 * across * ends


def _paint_eye(image, identity: Identity, layout: FaceLayout, xs, y, side: float, front) -> None:
    """Sclera, iris with streaks, pupil, lash lines and a faint lid crease inside one eye's fissure."""
    upper, lower = layout.lid_margins(xs, side)
    t = layout.eye_t(xs)
    inside = smoothstep(-0.25, 0.25, upper - y) * smoothstep(-0.25, 0.25, y - lower) * (np.abs(t) < 1.0)
    inside = inside * front
    _blend(image, inside, _SCLERA)
    cy = layout.eye_axis(np.array(layout.eye_x), side) + 0.3
    dx, dy = xs - layout.eye_x, y - cy
    r = np.hypot(dx, dy)
    angle = np.arctan2(dy, dx)
    streak = 0.8 + 0.2 * np.sin(17.0 * angle + identity.texture_seed % 7) + 0.15 * (r / 5.8)
    iris_color = np.asarray(identity.iris_rgb, dtype=np.float32) * streak[..., None].astype(np.float32)
    iris = (1.0 - smoothstep(5.5, 6.0, r)) * inside
    image += iris[..., None] * (iris_color - image)
    _blend(image, (1.0 - smoothstep(1.7, 2.1, r)) * inside, (0.03, 0.03, 0.03))
    lash_color = np.asarray(identity.brow_rgb, dtype=np.float32) * 0.5
    across = np.abs(t) < 1.05
    lash = np.exp(-0.5 * ((y - upper - 0.3) / 0.45) ** 2) + 0.45 * np.exp(-0.5 * ((y - lower + 0.2) / 0.35) ** 2)
    _blend(image, np.clip(lash, 0.0, 1.0) * across * front, lash_color)
    crease = 0.18 * np.exp(-0.5 * ((y - upper - 4.0 + 1.5 * t * t) / 0.6) ** 2) * across
    _blend(image, crease * front, np.asarray(identity.skin_rgb, dtype=np.float32) * 0.7)


def _paint_lips(image, identity: Identity, layout: FaceLayout, x, y, front) -> None:
    """Red lips and the dark line where they meet (it opens into a gap when the lips part)."""
    line = layout.mouth_line(x)
    upper, lower = layout.red_heights(x)
    red = smoothstep(-0.4, 0.4, line + upper - y) * smoothstep(-0.4, 0.4, y - (line - lower))
    red = red * smoothstep(0.0, 1.0, upper + lower)  # no stray line beyond the corners
    _blend(image, red * front, identity.lip_rgb)
    q = np.abs(x / layout.mouth_half_width)
    slit = np.exp(-0.5 * ((y - line) / 0.35) ** 2) * (1.0 - smoothstep(0.9, 1.02, q))
    _blend(image, 0.9 * slit * front, _MOUTH_DARK)
