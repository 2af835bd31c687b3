"""Identity parameters of one simulated subject: head proportions, facial feature sizes, colours.

All lengths are millimetres, colours are RGB floats in [0, 1]. The defaults describe an average
adult face (about 140 mm wide and 190 mm from chin to the top of the forehead); :func:`sample_identity`
draws plausible adults around them. An :class:`Identity` fully determines the face that
:func:`mer4d.synth.face.make_face` builds, texture included (``texture_seed`` drives its blotches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from mer4d.core.errors import DataError

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Identity:
    """Proportions and colours of one subject.

    Attributes:
        face_width: bizygomatic width (cheekbone to cheekbone), mm.
        face_height: chin to top of the simulated forehead, mm (the surface's vertical extent, roughly).
        head_depth: front-to-back head length, mm; the face front sits about half of it before the ears.
        nose_length: nasion (between the eyes) to subnasale (nose base), mm.
        nose_width: alar width (nostril wing to wing), mm.
        nose_projection: how far the nose tip stands out of the face, mm.
        brow_height: inner brow above the eye centre line, mm.
        brow_arch: how much the brow's peak rises above its inner end, mm.
        eye_spacing: interpupillary distance, mm.
        eye_width: palpebral fissure width (inner to outer eye corner), mm.
        eye_height: palpebral fissure height (open eye, upper to lower lid), mm.
        mouth_width: mouth corner to mouth corner, mm.
        lip_fullness: scale of the red lip heights and their bulge (1 = average).
        upper_lip_length: subnasale to the lips' meeting line, mm.
        chin_length: lips' meeting line to the bottom of the chin, mm.
        chin_projection: how far the chin boss stands out, mm.
        asymmetry: left/right difference in brow, eye and mouth-corner heights, mm (0 = mirror symmetric).
        skin_rgb: skin albedo.
        brow_rgb: eyebrow (and eyelash) colour.
        lip_rgb: lip colour.
        iris_rgb: iris colour.
        texture_seed: seed of the skin blotches, brow hairs and iris streaks in the texture.
    """

    face_width: float = 140.0
    face_height: float = 190.0
    head_depth: float = 190.0
    nose_length: float = 50.0
    nose_width: float = 34.0
    nose_projection: float = 20.0
    brow_height: float = 22.0
    brow_arch: float = 4.0
    eye_spacing: float = 62.0
    eye_width: float = 29.0
    eye_height: float = 10.0
    mouth_width: float = 50.0
    lip_fullness: float = 1.0
    upper_lip_length: float = 20.0
    chin_length: float = 44.0
    chin_projection: float = 9.0
    asymmetry: float = 0.0
    skin_rgb: RGB = (0.86, 0.67, 0.56)
    brow_rgb: RGB = (0.22, 0.15, 0.10)
    lip_rgb: RGB = (0.74, 0.42, 0.40)
    iris_rgb: RGB = (0.36, 0.24, 0.14)
    texture_seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rgb"):
                _check_rgb(f.name, value)
            elif f.name == "texture_seed":
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                    raise DataError(f"Identity.texture_seed: expected a non-negative integer, found {value!r}. Fix: pass e.g. texture_seed=0.")
            else:
                low, high = _LIMITS[f.name]
                if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value) or not low <= value <= high:
                    raise DataError(
                        f"Identity.{f.name}: expected a number in [{low}, {high}], found {value!r}. "
                        f"Fix: pass a plausible adult value (default {f.default})."
                    )
        # Features must fit side by side: eyes inside the face and not overlapping each other.
        if self.eye_spacing - self.eye_width < 20.0 or self.eye_spacing + self.eye_width > self.face_width - 20.0:
            raise DataError(
                f"Identity: eyes do not fit (eye_spacing={self.eye_spacing}, eye_width={self.eye_width}, face_width={self.face_width}); "
                "expected eye_spacing - eye_width >= 20 mm and eye_spacing + eye_width <= face_width - 20 mm. Fix: narrow the eyes."
            )
        if self.mouth_width > self.face_width - 60.0:
            raise DataError(
                f"Identity: mouth_width={self.mouth_width} is too wide for face_width={self.face_width}; "
                "expected mouth_width <= face_width - 60 mm. Fix: narrow the mouth."
            )


# Hard limits, wider than what sample_identity draws: beyond them the procedural face folds over.
_LIMITS: dict[str, tuple[float, float]] = {
    "face_width": (110.0, 170.0),
    "face_height": (160.0, 220.0),
    "head_depth": (160.0, 220.0),
    "nose_length": (35.0, 62.0),
    "nose_width": (24.0, 45.0),
    "nose_projection": (10.0, 30.0),
    "brow_height": (14.0, 32.0),
    "brow_arch": (0.0, 8.0),
    "eye_spacing": (50.0, 75.0),
    "eye_width": (22.0, 35.0),
    "eye_height": (6.0, 14.0),
    "mouth_width": (38.0, 62.0),
    "lip_fullness": (0.5, 1.6),
    "upper_lip_length": (14.0, 26.0),
    "chin_length": (34.0, 55.0),
    "chin_projection": (3.0, 16.0),
    "asymmetry": (0.0, 3.0),
}

# Sampling ranges (uniform), roughly the 5th-95th percentile of adult anthropometry.
_RANGES: dict[str, tuple[float, float]] = {
    "face_width": (128.0, 150.0),
    "face_height": (178.0, 202.0),
    "head_depth": (178.0, 202.0),
    "nose_length": (44.0, 56.0),
    "nose_width": (30.0, 39.0),
    "nose_projection": (16.0, 24.0),
    "brow_height": (18.0, 26.0),
    "brow_arch": (2.0, 6.0),
    "eye_spacing": (57.0, 67.0),
    "eye_width": (26.0, 31.0),
    "eye_height": (8.5, 11.5),
    "mouth_width": (45.0, 55.0),
    "lip_fullness": (0.75, 1.3),
    "upper_lip_length": (17.0, 23.0),
    "chin_length": (39.0, 49.0),
    "chin_projection": (6.0, 12.0),
    "asymmetry": (0.0, 1.2),
}

# Skin albedo anchors from very light to very dark; a subject's tone is a blend of two neighbours.
_SKIN_TONES = np.array([
    [0.95, 0.80, 0.71],
    [0.88, 0.69, 0.57],
    [0.78, 0.57, 0.43],
    [0.62, 0.43, 0.31],
    [0.43, 0.29, 0.21],
    [0.30, 0.20, 0.15],
])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.20, 0.13, 0.08], [0.40, 0.28, 0.16], [0.62, 0.50, 0.33], [0.35, 0.17, 0.08]])
_IRIS = np.array([[0.25, 0.15, 0.08], [0.40, 0.27, 0.13], [0.45, 0.42, 0.22], [0.30, 0.45, 0.55], [0.35, 0.45, 0.30]])


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a plausible adult identity.

    Args:
        rng: the random generator; the same generator state gives the same identity.

    Returns:
        an :class:`Identity` with every proportion inside its adult range and colours from skin, hair
        and iris palettes (lips are a redder, darker version of the skin).
    """
    values: dict[str, object] = {name: float(rng.uniform(low, high)) for name, (low, high) in _RANGES.items()}
    # Keep the eyes inside the face for narrow faces with wide-set eyes.
    values["eye_spacing"] = min(values["eye_spacing"], values["face_width"] - 20.0 - values["eye_width"])
    tone = rng.uniform(0.0, len(_SKIN_TONES) - 1.0)
    i = min(int(tone), len(_SKIN_TONES) - 2)
    skin = (1.0 - (tone - i)) * _SKIN_TONES[i] + (tone - i) * _SKIN_TONES[i + 1]
    skin = np.clip(skin * rng.uniform(0.95, 1.05, size=3), 0.0, 1.0)
    lip = np.clip(skin * np.array([0.88, 0.62, 0.66]) * rng.uniform(0.9, 1.05), 0.0, 1.0)
    brow = np.clip(_HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15), 0.0, 1.0)
    iris = np.clip(_IRIS[rng.integers(len(_IRIS))] * rng.uniform(0.85, 1.15), 0.0, 1.0)
    values.update(
        skin_rgb=_rgb(skin), lip_rgb=_rgb(lip), brow_rgb=_rgb(brow), iris_rgb=_rgb(iris),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )
    return Identity(**values)


def _rgb(c: np.ndarray) -> RGB:
    return (float(c[0]), float(c[1]), float(c[2]))


def _check_rgb(name: str, value: object) -> None:
    ok = isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in value)
    if not ok:
        raise DataError(f"Identity.{name}: expected an RGB tuple of three floats in [0, 1], found {value!r}. Fix: pass e.g. (0.8, 0.6, 0.5).")
