"""Where the facial features of one identity sit, and the smooth head surface they sit on.

The head is a superellipsoid (boxier than an ellipsoid, like a real face front) seen through a
(yaw, pitch) angle grid; :class:`FaceLayout` turns an :class:`~mer4d.synth.identity.Identity` into
feature positions on it (eyes, brows, nose, mouth, chin). Features only push the surface along +Z
(see :mod:`mer4d.synth.face_relief`), so a point keeps the (x, y) of the base surface: every feature,
texture mark, landmark and AU region is laid out in frontal (x, y) millimetres.

Convention (as in :mod:`mer4d.core.containers`): +X is the subject's left, +Y up, +Z out of the face.
Per-side quantities take ``side = +1`` (left) or ``-1`` (right) and a mirrored coordinate
``xs = side * x`` that is positive on that side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mer4d.synth.identity import Identity

YAW_RANGE_DEG = (-100.0, 100.0)
"""Yaw span of the surface grid: ear to ear, a little past the ears."""
PITCH_RANGE_DEG = (-58.0, 62.0)
"""Pitch span of the surface grid: under the chin to the top of the forehead."""
_POWER = 2.4  # superellipsoid exponent; 2 is an ellipsoid, larger flattens the face front


def smoothstep(edge0: float, edge1: float, v: np.ndarray) -> np.ndarray:
    """Quintic smoothstep: 0 below ``edge0``, 1 above ``edge1``, C2 in between (edges may be reversed)."""
    t = np.clip((v - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def gauss(dx: np.ndarray, dy: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Anisotropic Gaussian bump with peak 1."""
    return np.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))


def superellipsoid(a: float, b: float, c: float, yaw: np.ndarray, pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``(x, y, z)`` of the superellipsoid ``|x/a|^p + |y/b|^p + |z/c|^p = 1`` seen along (yaw, pitch).

    The radial form is smooth in the angles, unlike the signed-power parameterisation whose
    x(yaw) has a cusp at yaw = 0.
    """
    cp = np.cos(pitch)
    d = (cp * np.sin(yaw), np.sin(pitch), cp * np.cos(yaw))
    inv = np.abs(d[0] / a) ** _POWER + np.abs(d[1] / b) ** _POWER + np.abs(d[2] / c) ** _POWER
    r = inv ** (-1.0 / _POWER)
    return r * d[0], r * d[1], r * d[2]


@dataclass(frozen=True)
class FaceLayout:
    """Feature positions of one face in frontal millimetres (built by :func:`layout_for`).

    Attributes:
        a, b, c: superellipsoid semi-axes along X, Y, Z (the head centre is the origin).
        eye_x, eye_y: centre of the left eye (the right one is at ``-eye_x``).
        eye_half_width: half the fissure width; the corners are at ``eye_x -/+ eye_half_width``.
        lid_up, lid_down: open-eye heights of the upper / lower lid margin above / below the eye axis.
        canthal_tilt: outer corner height above the inner corner, divided by two.
        brow_y, brow_arch, brow_inner_x, brow_outer_x, brow_droop: brow line (see :meth:`brow_curve`).
        nasion_y, tip_y, subnasale_y: nose root, tip and base heights.
        nose_projection, nose_half_width: nose tip height over the face, half the alar width.
        mouth_y, mouth_half_width: lips' meeting line at the midline, half the mouth width.
        upper_red, lower_red: red-lip (vermilion) heights at the midline.
        lip_fullness: scale of the lip bulges.
        chin_y, menton_y, chin_projection: chin boss centre, chin bottom, chin boss height.
        cheek_x, cheek_y: cheekbone prominence (left side).
        asymmetry: left-minus-right height difference of brows, eyes and mouth corners.
    """

    a: float
    b: float
    c: float
    eye_x: float
    eye_y: float
    eye_half_width: float
    lid_up: float
    lid_down: float
    canthal_tilt: float
    brow_y: float
    brow_arch: float
    brow_inner_x: float
    brow_outer_x: float
    brow_droop: float
    nasion_y: float
    tip_y: float
    subnasale_y: float
    nose_projection: float
    nose_half_width: float
    mouth_y: float
    mouth_half_width: float
    upper_red: float
    lower_red: float
    lip_fullness: float
    chin_y: float
    menton_y: float
    chin_projection: float
    cheek_x: float
    cheek_y: float
    asymmetry: float

    # --- base surface -------------------------------------------------------------------------

    def base_surface(self, yaw: np.ndarray, pitch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points of the featureless head surface.

        Args:
            yaw: (...) radians, 0 facing +Z, positive towards +X (the subject's left).
            pitch: (...) radians, positive up.

        Returns:
            ``(x, y, z)`` arrays of the broadcast shape, millimetres.
        """
        x, y, z = superellipsoid(self.a, self.b, self.c, yaw, pitch)
        return x * self.taper(y), y, z

    def taper(self, y: np.ndarray) -> np.ndarray:
        """Width factor by height: the jaw narrows towards the chin (1 above the cheekbones)."""
        return 1.0 - 0.2 * smoothstep(self.cheek_y, self.menton_y, y)

    def front_weight(self, z: np.ndarray) -> np.ndarray:
        """1 on the face front, 0 at the ears and behind, from base-surface ``z``: keeps features off the sides."""
        return smoothstep(0.1 * self.c, 0.5 * self.c, z)

    # --- per-side feature curves ---------------------------------------------------------------

    def side_dy(self, side: float) -> float:
        """Height offset of one side's eye and brow (half the asymmetry, opposite signs)."""
        return 0.5 * self.asymmetry * side

    def eye_t(self, xs: np.ndarray) -> np.ndarray:
        """Position across the eye fissure: -1 at the inner corner, +1 at the outer one."""
        return (xs - self.eye_x) / self.eye_half_width

    def eye_axis(self, xs: np.ndarray, side: float) -> np.ndarray:
        """Height of the line joining the two eye corners, at mirrored x ``xs``."""
        return self.eye_y + self.side_dy(side) + self.canthal_tilt * self.eye_t(xs)

    def lid_margins(self, xs: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower lid margin heights of the open eye; they meet at the corners and beyond."""
        t = self.eye_t(xs)
        shape = np.clip(1.0 - t * t, 0.0, None) ** 0.6
        axis = self.eye_axis(xs, side)
        return axis + self.lid_up * shape, axis - self.lid_down * shape

    def brow_curve(self, t: np.ndarray | float, side: float) -> tuple[np.ndarray, np.ndarray]:
        """Brow centre line, ``t`` from 0 (inner end) to 1 (outer end): returns (xs, y)."""
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        xs = self.brow_inner_x + t * (self.brow_outer_x - self.brow_inner_x)
        # The peak sits about 60% of the way out, as in most brows; the tail droops a little.
        y = self.brow_y + self.side_dy(side) + self.brow_arch * np.sin(np.pi * t**1.4) - self.brow_droop * t
        return xs, y

    def brow_y_at(self, xs: np.ndarray, side: float) -> np.ndarray:
        """Brow line height above mirrored x ``xs`` (held flat beyond the brow's ends)."""
        t = (xs - self.brow_inner_x) / (self.brow_outer_x - self.brow_inner_x)
        return self.brow_curve(t, side)[1]

    def mouth_line(self, x: np.ndarray) -> np.ndarray:
        """Height of the lips' meeting line at signed ``x`` (corners slightly up; tilted by asymmetry)."""
        q = x / self.mouth_half_width
        return self.mouth_y + 1.2 * q * q + 0.35 * self.asymmetry * np.clip(q, -1.0, 1.0)

    def lip_window(self, x: np.ndarray) -> np.ndarray:
        """1 at the mouth's midline falling to 0 at the corners."""
        q = x / self.mouth_half_width
        return np.clip(1.0 - q * q, 0.0, 1.0)

    def red_heights(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower red-lip heights at signed ``x`` (upper one with a Cupid's-bow dip)."""
        w = np.sqrt(self.lip_window(x))
        corner = smoothstep(1.0, 0.75, np.abs(x / self.mouth_half_width))  # red lips taper to nothing at the corners
        upper = (self.upper_red * (0.35 + 0.65 * w) - 1.2 * np.exp(-0.5 * (x / 2.5) ** 2)) * corner
        lower = self.lower_red * (0.3 + 0.7 * w) * corner
        return upper, lower


def layout_for(identity: Identity) -> FaceLayout:
    """Place the features of ``identity`` on its head surface.

    Heights are chained upwards from the chin bottom, which sits a little above the lower edge of
    the surface grid, so a longer nose or chin moves the eyes up rather than off the grid.
    """
    a = 0.5 * identity.face_width * 1.04
    c = 0.5 * identity.head_depth
    b = identity.face_height / 1.72
    # Lowest surface point at the midline: the chain of feature heights starts just above it.
    pitch_low = math.radians(PITCH_RANGE_DEG[0])
    bottom = float(superellipsoid(a, b, c, np.array(0.0), np.array(pitch_low))[1])
    menton = bottom + 8.0
    mouth = menton + identity.chin_length
    subnasale = mouth + identity.upper_lip_length
    nasion = subnasale + identity.nose_length
    eye_y = nasion - 5.0
    fullness = identity.lip_fullness
    return FaceLayout(
        a=a, b=b, c=c,
        eye_x=0.5 * identity.eye_spacing,
        eye_y=eye_y,
        eye_half_width=0.5 * identity.eye_width,
        lid_up=0.58 * identity.eye_height,
        lid_down=0.42 * identity.eye_height,
        canthal_tilt=1.0,
        brow_y=eye_y + identity.brow_height,
        brow_arch=identity.brow_arch,
        brow_inner_x=0.5 * (identity.eye_spacing - identity.eye_width) - 1.5,
        brow_outer_x=0.5 * (identity.eye_spacing + identity.eye_width) + 7.0,
        brow_droop=0.35 * identity.brow_arch + 1.0,
        nasion_y=nasion,
        tip_y=subnasale + 0.1 * identity.nose_length,
        subnasale_y=subnasale,
        nose_projection=identity.nose_projection,
        nose_half_width=0.5 * identity.nose_width,
        mouth_y=mouth,
        mouth_half_width=0.5 * identity.mouth_width,
        upper_red=8.0 * fullness,
        lower_red=10.0 * fullness,
        lip_fullness=fullness,
        chin_y=menton + 0.3 * identity.chin_length,
        menton_y=menton,
        chin_projection=identity.chin_projection,
        cheek_x=0.5 * identity.eye_spacing + 6.0,
        cheek_y=eye_y - 24.0,
        asymmetry=identity.asymmetry,
    )
