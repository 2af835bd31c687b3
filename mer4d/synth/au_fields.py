"""Raw displacement fields of the FACS action units on a procedural face (un-normalised).

Each builder returns an (N, 3) float64 field for one face: a smooth weight with compact support
(a raised cosine over an ellipse around the AU's anatomical anchor, or a profile between the lid
margins or across the lips, so vertices outside it stay exactly still) times a direction chosen
from the FACS description. Where a motion compresses skin (lids, pressed lips) the profile is
linear over the feature's height, so even a 6 mm macro amplitude never folds the mesh. Bilateral muscles are built per
side (``side = +1`` left, ``-1`` right) in mirrored coordinates ``xs = side * x`` and summed;
midline ones (chin, lips) are built once. :mod:`mer4d.synth.aus` normalises the fields and cuts
out the left/right variants; the scale here only matters within one field.

Anchors come from :class:`~mer4d.synth.face_layout.FaceLayout`, the same curves the geometry and
texture use, so an AU lands on its feature for every identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mer4d.synth.face_layout import FaceLayout, smoothstep


@dataclass(frozen=True)
class FieldContext:
    """Neutral vertex coordinates of one face, as builders need them.

    Attributes:
        x, y, z: (N,) float64 neutral vertex coordinates, millimetres.
        front: (N,) float64 face-front weight (0 at the ears): no AU moves the sides of the head.
        layout: feature positions.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    front: np.ndarray
    layout: FaceLayout


def raised_cosine(dx: np.ndarray, dy: np.ndarray, rx: float, ry_up: float, ry_down: float | None = None) -> np.ndarray:
    """Weight 1 at the centre falling smoothly to exactly 0 on an ellipse (radii ``rx``, ``ry_up`` above, ``ry_down`` below)."""
    ry = np.where(dy >= 0.0, ry_up, ry_up if ry_down is None else ry_down)
    d = np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
    return np.where(d < 1.0, 0.5 + 0.5 * np.cos(np.pi * np.minimum(d, 1.0)), 0.0)


def _fall(d: np.ndarray, r: float) -> np.ndarray:
    """1D raised cosine: 1 at ``d <= 0`` falling to 0 at ``d >= r``."""
    t = np.clip(d / r, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * t)


def _along(weight: np.ndarray, direction: tuple[float, float, float], side: float = 1.0) -> np.ndarray:
    """(N, 3) field ``weight * unit(direction)``; the x component is mirrored for the right side."""
    d = np.array(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    d[0] *= side
    return weight[:, None] * d[None, :]


def _corner(lay: FaceLayout, side: float) -> float:
    """Mouth corner height on one side."""
    return float(lay.mouth_line(np.array(side * lay.mouth_half_width)))


# --- upper face ---------------------------------------------------------------------------------

def au1(c: FieldContext, side: float) -> np.ndarray:
    """Inner brow raiser (frontalis, medial): the inner brow and the forehead above it go up."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.brow_inner_x + 5.0), c.y - (lay.brow_y + lay.side_dy(side) + 1.0), 15.0, 24.0, 11.0)
    return _along(w, (0.0, 1.0, 0.1), side)


def au2(c: FieldContext, side: float) -> np.ndarray:
    """Outer brow raiser (frontalis, lateral): the outer brow goes up (and a little out)."""
    lay = c.layout
    xs, cy = lay.brow_curve(0.8, side)
    w = raised_cosine(side * c.x - float(xs), c.y - float(cy), 14.0, 22.0, 9.0)
    return _along(w, (0.1, 1.0, 0.05), side)


def au4(c: FieldContext, side: float) -> np.ndarray:
    """Brow lowerer (corrugator, procerus): brows pulled down and together (the medial pulls cancel at the midline)."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.brow_inner_x + 6.0), c.y - (lay.brow_y + lay.side_dy(side) - 1.0), 20.0, 16.0, 12.0)
    return _along(w, (-0.55, -1.0, 0.15), side)


def _lid_frame(c: FieldContext, side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per vertex: upper and lower lid margin heights, the opening's height, and the lateral weight.

    The lateral weight is the opening's height relative to its maximum, so lid motions die out
    exactly where the margins meet at the eye corners (no seam beyond them).
    """
    lay = c.layout
    upper, lower = lay.lid_margins(side * c.x, side)
    gap = upper - lower
    up0, low0 = (float(v) for v in lay.lid_margins(np.array(lay.eye_x), side))
    return upper, lower, gap, gap / (up0 - low0)


def _opening_position(y: np.ndarray, upper: np.ndarray, lower: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """0 at the lower lid margin, 1 at the upper one, linear in between (clipped outside)."""
    return np.clip((y - lower) / np.maximum(gap, 1e-6), 0.0, 1.0)


def au5(c: FieldContext, side: float) -> np.ndarray:
    """Upper lid raiser: the upper lid margin retracts upwards, baring more of the eye white.

    Inside the opening the lift grows from 0 at the lower margin to 1 at the upper one as s^4, so
    the eye white just under the lid stretches while the iris barely moves (stretching cannot fold
    the mesh); above the margin it fades over 12 mm of lid skin.
    """
    upper, lower, gap, lateral = _lid_frame(c, side)
    inside = _opening_position(c.y, upper, lower, gap) ** 4
    lift = np.where(c.y > upper, _fall(c.y - upper, 12.0), inside) * lateral
    return _along(lift, (0.0, 1.0, -0.2), side)


def au6(c: FieldContext, side: float) -> np.ndarray:
    """Cheek raiser (orbicularis oculi, orbital part): cheek and lower lid pushed up, crow's feet."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.cheek_x - 2.0), c.y - (lay.cheek_y + 8.0), 22.0, 20.0, 14.0)
    return _along(w, (0.05, 1.0, 0.25), side)


def au7(c: FieldContext, side: float) -> np.ndarray:
    """Lid tightener: the lower lid rises strongly and the upper lid drops a little: the eye narrows.

    Inside the opening the motion is linear between the margins (the eye white is squeezed, never
    folded); beyond them it fades over 6 mm below and 5 mm above.
    """
    upper, lower, gap, lateral = _lid_frame(c, side)
    s = _opening_position(c.y, upper, lower, gap)
    rise = np.where(c.y < lower, _fall(lower - c.y, 6.0), 1.0 - s)
    drop = np.where(c.y > upper, _fall(c.y - upper, 5.0), s)
    return _along(rise * lateral, (0.0, 1.0, 0.1), side) + 0.25 * _along(drop * lateral, (0.0, -1.0, 0.0), side)


def eye_closure(c: FieldContext, side: float) -> np.ndarray:
    """Lids close (AU43 held, AU45 blink): at full amplitude the opening collapses onto a line.

    The upper margin comes down to 30% of the opening's height and the lower margin rises to meet
    it; the eye white between them is squeezed to nothing and the lid skin above stretches down
    over it. The field is in real millimetres, so its maximum norm is the full-closure amplitude.
    """
    lay = c.layout
    xs = side * c.x
    upper, lower = lay.lid_margins(xs, side)
    meet = lower + 0.3 * (upper - lower)
    y = c.y
    # Inside the opening everything collapses onto the meeting line; the skin beyond follows
    # with a falloff (7 mm above the upper lid, 4 mm below the lower one). Beyond the eye corners
    # the margins coincide, so every branch is 0 there.
    above = -(upper - meet) * _fall(y - upper, 7.0)
    below = (meet - lower) * _fall(lower - y, 4.0)
    dy = np.where(y >= upper, above, np.where(y > lower, meet - y, below))
    return np.stack([np.zeros_like(dy), dy, 0.15 * np.abs(dy)], axis=1)


# --- nose and mouth ------------------------------------------------------------------------------

def au9(c: FieldContext, side: float) -> np.ndarray:
    """Nose wrinkler (levator labii superioris alaeque nasi): the sides of the nose pulled up."""
    lay = c.layout
    cy = lay.subnasale_y + 0.35 * (lay.eye_y - lay.subnasale_y)
    w = raised_cosine(side * c.x - (lay.nose_half_width - 6.0), c.y - cy, 12.0, 24.0, 20.0)
    return _along(w, (-0.1, 1.0, 0.15), side)


def au10(c: FieldContext, side: float) -> np.ndarray:
    """Upper lip raiser: the upper lip lifts (a sharp cut at the lips' line lets them part)."""
    lay = c.layout
    line = lay.mouth_line(c.x)
    upper = float(lay.red_heights(np.array(9.0))[0])
    cy = float(lay.mouth_line(np.array(9.0))) + 0.6 * upper + 2.0
    w = raised_cosine(side * c.x - 9.0, c.y - cy, 16.0, 14.0, 0.6 * upper + 6.0)
    return _along(w * smoothstep(-1.0, 1.0, c.y - line), (0.0, 1.0, 0.2), side)


def au12(c: FieldContext, side: float) -> np.ndarray:
    """Lip corner puller (zygomaticus major): corners up, out and back along the cheek."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.mouth_half_width + 2.0), c.y - (_corner(lay, side) + 1.0), 18.0, 18.0, 12.0)
    return _along(w, (0.55, 0.75, -0.35), side)


def au14(c: FieldContext, side: float) -> np.ndarray:
    """Dimpler (buccinator): the corners tighten back into the cheek and slightly inwards."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.mouth_half_width + 3.0), c.y - _corner(lay, side), 11.0, 10.0)
    return _along(w, (-0.25, 0.05, -1.0), side)


def au15(c: FieldContext, side: float) -> np.ndarray:
    """Lip corner depressor (depressor anguli oris): corners pulled down."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.mouth_half_width + 1.0), c.y - (_corner(lay, side) - 3.0), 14.0, 8.0, 18.0)
    return _along(w, (0.1, -1.0, 0.0), side)


def au20(c: FieldContext, side: float) -> np.ndarray:
    """Lip stretcher (risorius): corners pulled sideways."""
    lay = c.layout
    w = raised_cosine(side * c.x - (lay.mouth_half_width + 3.0), c.y - (_corner(lay, side) - 2.0), 22.0, 14.0)
    return _along(w, (1.0, -0.15, -0.15), side)


def au17(c: FieldContext) -> np.ndarray:
    """Chin raiser (mentalis): the chin boss and lower lip pushed up and forward."""
    lay = c.layout
    line = float(lay.mouth_line(np.array(0.0)))
    cy = lay.chin_y + 4.0
    w = raised_cosine(c.x, c.y - cy, 24.0, line - 0.5 - cy, 18.0)
    return _along(w, (0.0, 0.85, 0.5))


def _press(c: FieldContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of the lip tightener / presser, per vertex.

    Returns:
        ``(lateral, toward, envelope)``: a weight across the mouth (1 at the midline, 0 a little past
        the corners); the vertical pull towards the lips' line, growing linearly over each red lip's
        height (so lips compress at a bounded rate and never cross) and fading 8 mm beyond; and
        the envelope of the lips (1 on them, fading the same way) for the backwards component.
    """
    lay = c.layout
    d = c.y - lay.mouth_line(c.x)
    height = np.where(d >= 0.0, lay.upper_red + 1.0, lay.lower_red + 1.0)
    beyond = np.abs(d) - height
    envelope = _fall(beyond, 8.0)
    toward = -np.sign(d) * np.where(beyond <= 0.0, np.abs(d) / height, envelope)
    lateral = _fall(np.abs(c.x), 1.15 * lay.mouth_half_width)
    return lateral, toward, envelope


def au23(c: FieldContext) -> np.ndarray:
    """Lip tightener (orbicularis oris): red lips narrow and roll in; corners drawn slightly inwards."""
    lateral, toward, envelope = _press(c)
    inward = -0.35 * c.x / c.layout.mouth_half_width * envelope
    return lateral[:, None] * np.stack([inward, 0.5 * toward, -0.35 * envelope], axis=1)


def au24(c: FieldContext) -> np.ndarray:
    """Lip presser: lips pressed together and back."""
    lateral, toward, envelope = _press(c)
    return lateral[:, None] * np.stack([np.zeros_like(toward), toward, -0.5 * envelope], axis=1)


def au25(c: FieldContext) -> np.ndarray:
    """Lips part: the lower lip drops, the upper lip lifts a little; the corners stay joined."""
    lay = c.layout
    line = lay.mouth_line(c.x)
    w = raised_cosine(c.x, c.y - line, 1.05 * lay.mouth_half_width, lay.upper_red + 5.0, lay.lower_red + 14.0)
    # A step about 1.6 mm wide across the lips' line splits the continuous mesh into two lips.
    dy = 0.25 - 1.25 * (1.0 - smoothstep(-0.8, 0.8, c.y - line))
    return w[:, None] * np.stack([np.zeros_like(w), dy, np.zeros_like(w)], axis=1)


SideBuilder = Callable[[FieldContext, float], np.ndarray]
MidlineBuilder = Callable[[FieldContext], np.ndarray]

PER_SIDE: dict[int, SideBuilder] = {
    1: au1, 2: au2, 4: au4, 5: au5, 6: au6, 7: au7, 9: au9, 10: au10,
    12: au12, 14: au14, 15: au15, 20: au20, 43: eye_closure, 45: eye_closure,
}
"""AU number -> builder of one side's field (the bilateral field is the sum over both sides)."""

MIDLINE: dict[int, MidlineBuilder] = {17: au17, 23: au23, 24: au24, 25: au25}
"""AU number -> builder of a field centred on the midline."""

UNILATERAL: frozenset[int] = frozenset({1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 20, 23, 24, 43, 45})
"""AUs that also come as left/right variants (``L12``, ``R12``); chin raise and lips part do not."""


def bilateral_field(ctx: FieldContext, number: int) -> np.ndarray:
    """(N, 3) float64 raw field of both sides of AU ``number``, masked to the face front."""
    if number in PER_SIDE:
        field = PER_SIDE[number](ctx, 1.0) + PER_SIDE[number](ctx, -1.0)
    else:
        field = MIDLINE[number](ctx)
    return field * ctx.front[:, None]
