"""The face's relief: how far each frontal point (x, y) stands out of the head surface along +Z.

A sum of smooth bumps and dents, each a closed-form function of (x, y) in millimetres, so the same
code serves mesh vertices and texture texels. Magnitudes follow adult soft-tissue depths: nose tip
about 20 mm proud of the cheeks, eye sockets sunk about 9 mm under the brow ridge, lips and chin
boss a few millimetres proud of their surroundings.
"""

from __future__ import annotations

import numpy as np

from mer4d.synth.face_layout import FaceLayout, gauss, smoothstep

SIDES = (1.0, -1.0)
"""Left (+X) then right."""


def relief(layout: FaceLayout, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height of the facial features over the base surface, shape of ``x``, millimetres.

    Args:
        layout: feature positions.
        x, y: (...) frontal coordinates of base-surface points.

    Returns:
        (...) offset along +Z, before the front weight (:meth:`FaceLayout.front_weight`) is applied.
    """
    h = _lower_face(layout, x, y) + _nose(layout, x, y) + _lips(layout, x, y)
    for side in SIDES:
        xs = side * x
        h = h + _eye(layout, xs, y, side) + _brow_ridge(layout, xs, y, side)
        h = h + 6.0 * gauss(xs - layout.cheek_x, y - layout.cheek_y, 16.0, 12.0)
    return h


def _lower_face(lay: FaceLayout, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Jaw, muzzle, chin boss and the groove under the lower lip.

    The superellipsoid recedes quickly below the nose; real faces keep the mouth and chin well
    forward (teeth and jaw), so the lower face is filled forward before the local bumps are added.
    """
    fill = 3.0 * smoothstep(lay.tip_y + 10.0, lay.mouth_y, y) * np.exp(-0.5 * (x / 40.0) ** 2)
    fill = fill + 4.0 * smoothstep(lay.mouth_y, lay.chin_y, y) * np.exp(-0.5 * (x / 28.0) ** 2)
    muzzle = 6.0 * gauss(x, y - (lay.mouth_y + 3.0), 26.0, 18.0)
    chin = lay.chin_projection * gauss(x, y - lay.chin_y, 15.0, 11.0)
    groove = -3.0 * gauss(x, y - (lay.mouth_y - lay.lower_red - 6.0), 15.0, 4.5)
    return fill + muzzle + chin + groove


def _nose(lay: FaceLayout, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ridge from the nasion to the tip, a rounded tip, two alae and shallow nostril dents."""
    root, tip = 5.0, lay.nose_projection - 4.0
    s = np.clip((lay.nasion_y - y) / (lay.nasion_y - lay.tip_y), 0.0, 1.0)
    ridge = root + (tip - root) * s**1.3
    above = np.exp(-0.5 * (np.maximum(y - lay.nasion_y, 0.0) / 10.0) ** 2)
    below = np.exp(-0.5 * (np.maximum(lay.tip_y - y, 0.0) / 3.5) ** 2)
    width = 5.5 + 2.5 * s
    h = ridge * above * below * np.exp(-0.5 * (x / width) ** 2)
    h = h + 4.0 * gauss(x, y - lay.tip_y, 6.0, 5.0)
    for side in SIDES:
        xs = side * x
        h = h + 6.0 * gauss(xs - (lay.nose_half_width - 4.0), y - (lay.subnasale_y + 4.0), 5.0, 5.5)
        h = h - 2.5 * gauss(xs - 6.0, y - (lay.subnasale_y + 1.5), 3.0, 2.0)
    return h


def _eye(lay: FaceLayout, xs: np.ndarray, y: np.ndarray, side: float) -> np.ndarray:
    """Socket dent, the eyeball's bulge in it and slightly raised lid margins."""
    ey = lay.eye_y + lay.side_dy(side)
    socket = -9.0 * gauss(xs - lay.eye_x, y - (ey + 1.5), 15.0, 11.0)
    ball = 7.5 * gauss(xs - lay.eye_x, y - ey, 10.5, 7.5)
    upper, lower = lay.lid_margins(xs, side)
    inside = np.abs(lay.eye_t(xs)) < 1.0
    rims = 0.8 * inside * (np.exp(-0.5 * ((y - upper) / 1.2) ** 2) + 0.6 * np.exp(-0.5 * ((y - lower) / 1.2) ** 2))
    return socket + ball + rims


def _brow_ridge(lay: FaceLayout, xs: np.ndarray, y: np.ndarray, side: float) -> np.ndarray:
    """Supraorbital ridge just under the brow line; the two sides merge over the glabella."""
    along = smoothstep(-8.0, 8.0, xs) * (1.0 - smoothstep(lay.brow_outer_x + 2.0, lay.brow_outer_x + 14.0, xs))
    return 4.5 * along * np.exp(-0.5 * ((y - lay.brow_y_at(xs, side) + 3.0) / 6.0) ** 2)


def _lips(lay: FaceLayout, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Upper and lower lip bulges with a crease along their meeting line."""
    line = lay.mouth_line(x)
    upper, lower = lay.red_heights(x)
    w = np.sqrt(lay.lip_window(x))
    f = lay.lip_fullness
    up = 3.5 * f * np.exp(-0.5 * ((y - line - 0.5 * upper) / (0.45 * upper + 1e-3)) ** 2)
    low = 4.0 * f * np.exp(-0.5 * ((y - line + 0.5 * lower) / (0.45 * lower + 1e-3)) ** 2)
    crease = -1.8 * np.exp(-0.5 * ((y - line) / 1.2) ** 2)
    return w * (up + low + crease)
