"""The simulator's action-unit library: unit displacement fields with a physical amplitude in mm.

Every supported code maps a :class:`~mer4d.synth.face.FaceModel` to an (N, 3) float32 field whose
largest vertex displacement is exactly 1 mm, so ``amplitude * au_field(face, code)`` moves the
face by at most ``amplitude`` millimetres. Codes follow mer4d's canonical AU notation: ``"AU12"``
both sides, ``"L12"`` / ``"R12"`` the subject's left / right side only. A one-sided field is the
two-sided raw field times a smooth side weight (1 on that side, 0 beyond 4 mm past the midline),
so before normalisation left + right is exactly the bilateral field.

Directions follow FACS: AU1 inner brow up, AU2 outer brow up, AU4 brows down and together, AU5
upper lid up, AU6 cheek and lower lid up, AU7 lids tighten, AU9 nose sides up, AU10 upper lip up,
AU12 lip corners up/out/back, AU14 corners back into the cheek, AU15 corners down, AU17 chin up,
AU20 corners sideways, AU23 lips tighten, AU24 lips press, AU25 lips part, AU43/AU45 lids close
(a held closure and a blink differ in timing, which events carry, not in geometry; a closure of
:func:`closure_amplitude` millimetres shuts the eye).

Fields are computed once per face and cached (weakly keyed: they go with the face).

Example:
    >>> from mer4d.synth.face import make_face
    >>> from mer4d.synth.identity import Identity
    >>> face = make_face(Identity())
    >>> d = au_displacement(face, {"L12": 1.5, "AU1": 0.8})
    >>> round(float(np.linalg.norm(au_field(face, "L12"), axis=1).max()), 5)
    1.0
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Mapping

import numpy as np

from mer4d.core.errors import DataError, UnknownNameError
from mer4d.core.registry import suggest
from mer4d.synth.au_fields import MIDLINE, PER_SIDE, UNILATERAL, FieldContext, bilateral_field
from mer4d.synth.face import FaceModel
from mer4d.synth.face_layout import smoothstep

AU_NUMBERS: tuple[int, ...] = tuple(sorted({*PER_SIDE, *MIDLINE}))
"""FACS numbers the library knows."""

SUPPORTED_AUS: tuple[str, ...] = tuple(
    code for n in AU_NUMBERS for code in ((f"AU{n}", f"L{n}", f"R{n}") if n in UNILATERAL else (f"AU{n}",))
)
"""Every canonical code :func:`au_field` accepts: ``"AU1", "L1", "R1", "AU2", ...``."""

SIDE_MARGIN_MM = 4.0
"""A one-sided AU fades out over this distance on either side of the midline."""

_CODE = re.compile(r"^(AU|L|R)(\d+)$")
# face -> {"raw:<n>": bilateral raw field, "<code>": unit field}; entries vanish with the face.
_CACHE: weakref.WeakKeyDictionary[FaceModel, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def check_au_code(code: str) -> str:
    """Return ``code`` if the library supports it.

    Raises:
        UnknownNameError: saying the supported codes and the closest ones (``"12"`` suggests ``"AU12"``).
    """
    if isinstance(code, str) and code in SUPPORTED_AUS:
        return code
    text = str(code).strip()
    close = suggest(text, SUPPORTED_AUS)
    # Same AU in another spelling ("12", "au4", "l12") or a side variant that does not exist ("L17").
    parsed = re.fullmatch(r"(?:AU)?\s*([LR])?\s*(\d+)", text, flags=re.IGNORECASE)
    if parsed:
        side, number = (parsed.group(1) or "").upper(), int(parsed.group(2))
        best = next((c for c in (f"{side}{number}" if side else "", f"AU{number}") if c in SUPPORTED_AUS), None)
        if best:
            close = [best, *[c for c in close if c != best]]
    hint = f"; did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else ""
    raise UnknownNameError(
        f"unknown action unit {code!r}{hint} Expected a canonical code: 'AU<n>' (both sides) or 'L<n>'/'R<n>' (one side), "
        f"with n one of {', '.join(map(str, AU_NUMBERS))} (chin raise AU17 and lips part AU25 have no one-sided form)."
    )


def au_field(face: FaceModel, code: str) -> np.ndarray:
    """Unit displacement field of one action unit.

    Args:
        face: the neutral face.
        code: a code from :data:`SUPPORTED_AUS`.

    Returns:
        (N, 3) float32, read-only, whose largest vertex norm is 1 mm; vertices outside the AU's
        region have exactly zero displacement.

    Raises:
        UnknownNameError: ``code`` is not supported (with a did-you-mean).
    """
    check_au_code(code)
    cache = _cache_for(face)
    if code not in cache:
        prefix, number = _CODE.match(code).groups()
        raw = _raw(face, cache, int(number))
        if prefix != "AU":
            raw = raw * _side_weight(face.mesh.vertices[:, 0], 1.0 if prefix == "L" else -1.0)[:, None]
        peak = float(np.linalg.norm(raw, axis=1).max())
        field = (raw / peak).astype(np.float32)
        # float32 rounding can leave the peak a hair off 1; rescale in float32 to pin it.
        field /= np.linalg.norm(field, axis=1).max()
        field.setflags(write=False)
        cache[code] = field
    return cache[code]


def au_displacement(face: FaceModel, aus: Mapping[str, float]) -> np.ndarray:
    """Sum of AU fields scaled by their amplitudes.

    Args:
        face: the neutral face.
        aus: code -> amplitude in mm (>= 0): each AU alone moves the face by at most its amplitude.

    Returns:
        (N, 3) float32 displacement to add to ``face.mesh.vertices`` (a fresh, writable array).

    Raises:
        UnknownNameError: a code is not supported.
        DataError: an amplitude is negative or not finite.
    """
    out = np.zeros_like(face.mesh.vertices, dtype=np.float32)
    for code, amplitude in aus.items():
        check_amplitude(code, amplitude)
        if amplitude:
            out += np.float32(amplitude) * au_field(face, code)
    return out


def check_amplitude(code: str, amplitude: float) -> None:
    """Raise :class:`DataError` unless ``amplitude`` is a finite, non-negative number of millimetres."""
    ok = isinstance(amplitude, (int, float, np.integer, np.floating)) and not isinstance(amplitude, bool)
    if not ok or not math.isfinite(amplitude) or amplitude < 0:
        raise DataError(f"AU {code}: expected an amplitude in mm >= 0, found {amplitude!r}. Fix: pass e.g. {{{code!r}: 1.0}}.")


def closure_amplitude(face: FaceModel) -> float:
    """Amplitude in mm at which AU43 / AU45 (and their one-sided forms) fully shut the eyes."""
    cache = _cache_for(face)
    return float(np.linalg.norm(_raw(face, cache, 45), axis=1).max())


def _side_weight(x: np.ndarray, side: float) -> np.ndarray:
    """1 on ``side`` (+1 left, -1 right) beyond the margin, 0 beyond the margin on the other side; left + right = 1."""
    return smoothstep(-SIDE_MARGIN_MM, SIDE_MARGIN_MM, side * x.astype(np.float64))


def _raw(face: FaceModel, cache: dict[str, np.ndarray], number: int) -> np.ndarray:
    key = f"raw:{number}"
    if key not in cache:
        v = face.mesh.vertices.astype(np.float64)
        ctx = FieldContext(v[:, 0], v[:, 1], v[:, 2], face.front.astype(np.float64), face.layout)
        cache[key] = bilateral_field(ctx, number)
    return cache[key]


def _cache_for(face: FaceModel) -> dict[str, np.ndarray]:
    if not isinstance(face, FaceModel):
        raise DataError(f"AU fields: expected a FaceModel from mer4d.synth.face.make_face, found {type(face).__name__}. Fix: build one with make_face(identity).")
    return _CACHE.setdefault(face, {})
