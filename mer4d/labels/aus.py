"""Facial Action Unit (AU) notation: parse the strings found in ME label files, write 4DME notation.

Every corpus writes AUs its own way (see ``/work/shared/reference/datasets.md``):

* 4DME: ``AU4(k)+L7``, ``AUR2+12(k)+45``; ``(k)`` marks a *static* (kept) AU, present but not moving.
* CASME II / DFME / MMEW: ``4+L10``, ``R2``; a single AU is stored as a number cell (``12`` or ``12.0``).
* SAMM: intensity letters ``7B``, ``R14A``; prefixes ``A`` (asymmetric), ``T``/``B`` (top/bottom).
* CAS(ME)^3: ``T28``, ``B23``; Part C separates with commas, once with the Chinese comma ``，``.
* DFME: action descriptors ``AD38`` and head codes ``M57``.

The canonical code keeps what matters for recognition and nothing else: ``AU4`` for a bilateral AU,
``L7``/``R2`` for one side, and the SAMM/DFME prefixes as written (``A12``, ``T18``, ``AD38``, ``M57``).
Text that is not an AU (``?``, ``13?``, ``(R6 or R12)``, ``soft focus``) is a :class:`DataError` naming
where it came from; ``strict=False`` collects such tokens instead so a data check can list them all.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, overload

import pandas as pd

from mer4d.core.errors import DataError

# Token separators: '+' everywhere, ',' and the full-width '，' in CAS(ME)^3 Part C.
_SEPARATORS = re.compile(r"[+,\uff0c]")
# One AU token. The optional leading 'AU' is tried first, so 'AU12' is AU 12 and 'A12' is asymmetric 12.
# 'AD' must come before the one-letter prefixes or 'AD38' would read as prefix 'A' + garbage.
_TOKEN = re.compile(
    r"^(?:AU)?\s*(?P<prefix>AD|[LRATBM])?\s*(?P<num>\d+)(?:\.0+)?\s*(?P<intensity>[A-E])?\s*(?P<static>\(K\))?$",
    re.IGNORECASE,
)
# Canonical codes, as held by AUToken.code.
_CODE = re.compile(r"^(?P<prefix>AU|AD|[LRATBM])(?P<num>[1-9]\d*)$")
_EXPECTED = "an AU such as '4', 'AU4', 'L7', 'AUR2', '12(k)' or '7B', joined with '+'"


@dataclass(frozen=True)
class AUToken:
    """One action unit occurrence.

    Attributes:
        code: canonical code: ``"AU4"`` (bilateral), ``"L7"``/``"R2"`` (one side), or a corpus prefix kept
            as written (``"A12"`` asymmetric, ``"T18"``/``"B23"`` top/bottom, ``"AD38"``, ``"M57"``).
        static: the 4DME ``(k)`` flag: the AU is held through the clip rather than moving in it.
        intensity: FACS intensity letter ``"A"``..``"E"`` when the corpus codes one (SAMM ``7B``), else None.
    """

    code: str
    static: bool = False
    intensity: str | None = None

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise DataError(
                f"AUToken code {self.code!r} is not canonical; expected 'AU<n>', 'L<n>', 'R<n>', "
                "'A<n>', 'T<n>', 'B<n>', 'AD<n>' or 'M<n>' (parse_aus() builds tokens from label text)"
            )
        if self.intensity is not None and self.intensity not in "ABCDE":
            raise DataError(f"AUToken intensity {self.intensity!r} for {self.code} is not one of A, B, C, D, E")

    @property
    def number(self) -> int:
        """The FACS number, side and prefix dropped (``L7`` -> 7)."""
        return au_number(self.code)

    @property
    def side(self) -> Literal["L", "R"] | None:
        """``"L"`` or ``"R"`` for a one-sided AU, None otherwise."""
        return au_side(self.code)

    def __str__(self) -> str:
        return self.code + (self.intensity or "") + ("(k)" if self.static else "")


def _parse_token(raw: str) -> AUToken | None:
    """The token for one piece of text, or None when it is not an AU (including AU 0)."""
    m = _TOKEN.match(raw.strip())
    if m is None or int(m["num"]) == 0:
        return None
    prefix = (m["prefix"] or "AU").upper()
    intensity = m["intensity"].upper() if m["intensity"] else None
    return AUToken(code=f"{prefix}{int(m['num'])}", static=m["static"] is not None, intensity=intensity)


def _cell_text(value: object, where: str) -> str | None:
    """Text of a label cell; None for an empty cell (None, NaN, pandas NA, blank)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):  # bool is an int subclass; True is never an AU
        raise DataError(f"{where}: AU cell holds {value!r}; expected {_EXPECTED}")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        # Excel/pandas turns a lone AU '12' into 12.0; anything fractional is not an AU.
        if number.is_integer():
            return str(int(number))
        raise DataError(f"{where}: AU cell holds the number {value!r}; expected a whole AU number or {_EXPECTED}")
    if isinstance(value, str):
        return value if value.strip() else None
    raise DataError(f"{where}: AU cell holds a {type(value).__name__} ({value!r}); expected text or a number")


@overload
def parse_aus(text: object, *, source: str = "", strict: Literal[True] = True) -> list[AUToken]: ...


@overload
def parse_aus(text: object, *, source: str = "", strict: Literal[False]) -> tuple[list[AUToken], list[str]]: ...


def parse_aus(text: object, *, source: str = "", strict: bool = True) -> list[AUToken] | tuple[list[AUToken], list[str]]:
    """Parse one AU cell of a label file.

    Args:
        text: the cell: a string such as ``"AU4(k)+L7"`` or ``"4, 10"``, a number (``12`` or ``12.0``),
            or an empty value (None, NaN, ``""``) meaning no AUs.
        source: where the cell came from, used in messages (``"labels.xlsx row 14"``).
        strict: raise on the first token that is not an AU (default). With False, skip such tokens.

    Returns:
        The tokens in written order (duplicates kept). With ``strict=False``: ``(tokens, unknown)`` where
        ``unknown`` lists the skipped pieces of text, stripped, in written order.

    Raises:
        DataError: a token is not an AU (strict mode), or the cell is of a type no label file holds.

    Example:
        >>> [str(t) for t in parse_aus("AUR2+12(k)+45")]
        ['R2', 'AU12(k)', 'AU45']
    """
    where = source or "AU text"
    cell = _cell_text(text, where)
    tokens: list[AUToken] = []
    unknown: list[str] = []
    for piece in _SEPARATORS.split(cell or ""):
        if not piece.strip():  # trailing '+', doubled separators
            continue
        token = _parse_token(piece)
        if token is not None:
            tokens.append(token)
        elif strict:
            raise DataError(
                f"{where}: {piece.strip()!r} in AU text {cell!r} is not an action unit; expected {_EXPECTED}. "
                "Fix the cell, or read it with strict=False to list every unknown token."
            )
        else:
            unknown.append(piece.strip())
    return tokens if strict else (tokens, unknown)


def format_aus(tokens: Iterable[AUToken | str]) -> str:
    """Write AUs in 4DME notation, e.g. ``"AU4(k)+L7"``; ``parse_aus`` reads it back to the same tokens.

    Args:
        tokens: AUTokens, or single-AU strings in any notation ``parse_aus`` accepts.
    """
    out = []
    for token in tokens:
        if not isinstance(token, AUToken):
            parsed = parse_aus(token, source=f"AU {token!r}")
            if len(parsed) != 1:
                raise DataError(f"format_aus() got {token!r}, which is {len(parsed)} AUs; expected exactly one per item")
            token = parsed[0]
        out.append(str(token))
    return "+".join(out)


def _single(code: str) -> AUToken:
    token = _parse_token(code) if isinstance(code, str) else None
    if token is None:
        raise DataError(f"{code!r} is not a single action unit; expected {_EXPECTED.split(', joined')[0]}")
    return token


def au_number(code: str) -> int:
    """The FACS number of one AU in any notation: ``au_number("L7") == 7``, ``au_number("AU12(k)") == 12``."""
    m = _CODE.match(code) if isinstance(code, str) else None
    return int(m["num"]) if m else au_number(_single(code).code)


def au_side(code: str) -> Literal["L", "R"] | None:
    """``"L"``/``"R"`` for a one-sided AU (``"R2"``, ``"AUR2"``), None for bilateral or other prefixes."""
    first = _single(code).code[0]  # canonical codes start with their prefix: 'L7', 'R2', 'AU4', 'AD38'
    return "L" if first == "L" else "R" if first == "R" else None
