"""AU notation: every corpus notation parses, bad text fails loudly, 4DME notation round-trips."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.labels.aus import AUToken, au_number, au_side, format_aus, parse_aus


def codes(tokens: list[AUToken]) -> list[str]:
    return [str(t) for t in tokens]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 4DME: AU prefix, static (k), side after the AU prefix
        ("AU4(k)+L7", ["AU4(k)", "L7"]),
        ("AUR2+12(k)+45", ["R2", "AU12(k)", "AU45"]),
        ("L2+AU4", ["L2", "AU4"]),
        ("au4(K)+aul7", ["AU4(k)", "L7"]),
        # CASME II / DFME / MMEW
        ("4+L10", ["AU4", "L10"]),
        ("R14", ["R14"]),
        ("4+7", ["AU4", "AU7"]),
        # whitespace, trailing and doubled separators (SAMM '12+15 ', meb's trailing '+')
        (" 12 + 15 ", ["AU12", "AU15"]),
        ("4+7+", ["AU4", "AU7"]),
        ("4++7", ["AU4", "AU7"]),
        # CAS(ME)^3 Part C commas, including the full-width comma
        ("R4,5", ["R4", "AU5"]),
        ("4, 10, 43", ["AU4", "AU10", "AU43"]),
        ("R4\uff0c5", ["R4", "AU5"]),
        # numeric cells that arrived as text
        ("12.0", ["AU12"]),
        # SAMM intensity letters and prefixes
        ("7B", ["AU7B"]),
        ("43E", ["AU43E"]),
        ("R14A", ["R14A"]),
        ("A12", ["A12"]),
        ("A12B", ["A12B"]),
        ("T18+B23", ["T18", "B23"]),
        ("AU12C(k)", ["AU12C(k)"]),
        # DFME action descriptors and head codes
        ("AD38+M57", ["AD38", "M57"]),
    ],
)
def test_parse_notations(text, expected):
    assert codes(parse_aus(text)) == expected


@pytest.mark.parametrize("cell", [12, 12.0, np.int64(12), np.float64(12.0)])
def test_numeric_cells(cell):
    assert parse_aus(cell) == [AUToken("AU12")]


@pytest.mark.parametrize("cell", [None, "", "   ", float("nan"), np.nan, pd.NA, "+"])
def test_empty_cells_give_no_aus(cell):
    assert parse_aus(cell) == []


def test_token_fields():
    token = parse_aus("AUR14A(k)")[0]
    assert token == AUToken(code="R14", static=True, intensity="A")
    assert (token.number, token.side) == (14, "R")


@pytest.mark.parametrize("bad", ["?", "abc", "AU", "13?", "AU0", "(R6 or R12)", "ref(7B)", "soft focus", "10A/B", "L"])
def test_garbage_raises_naming_source_and_token(bad):
    with pytest.raises(DataError) as info:
        parse_aus(f"4+{bad}", source="labels.xlsx row 14")
    message = str(info.value)
    assert "labels.xlsx row 14" in message
    assert repr(bad) in message
    assert "expected" in message


def test_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_aus("?")


@pytest.mark.parametrize("cell", [4.5, True, ["4"]])
def test_bad_cell_types_raise(cell):
    with pytest.raises(DataError, match="row 3"):
        parse_aus(cell, source="row 3")


def test_lenient_mode_collects_every_unknown_token():
    tokens, unknown = parse_aus("4+?+L7+abc+13? +AU", strict=False)
    assert codes(tokens) == ["AU4", "L7"]
    assert unknown == ["?", "abc", "13?", "AU"]


def test_lenient_mode_on_clean_and_empty_cells():
    assert parse_aus("AU4(k)+L7", strict=False) == ([AUToken("AU4", static=True), AUToken("L7")], [])
    assert parse_aus(math.nan, strict=False) == ([], [])


@pytest.mark.parametrize("text", ["AU4(k)+L7", "AUR2+12(k)+45", "4+L10", "R14A+7B+AU12C(k)", "T18+B23+AD38+M57+A12", "", "12"])
def test_round_trip(text):
    tokens = parse_aus(text)
    written = format_aus(tokens)
    assert parse_aus(written) == tokens
    assert format_aus(parse_aus(written)) == written  # canonical text is a fixed point


def test_format_writes_4dme_notation():
    assert format_aus(parse_aus("4(k)+l7")) == "AU4(k)+L7"
    assert format_aus(["AU4(k)", "L7"]) == "AU4(k)+L7"
    assert format_aus([]) == ""


def test_format_rejects_multi_au_items():
    with pytest.raises(DataError, match="exactly one"):
        format_aus(["4+7"])


@pytest.mark.parametrize(
    ("code", "number", "side"),
    [
        ("AU4", 4, None),
        ("L7", 7, "L"),
        ("R2", 2, "R"),
        ("AUR2", 2, "R"),
        ("12", 12, None),
        ("AU12(k)", 12, None),
        ("A12", 12, None),
        ("T18", 18, None),
        ("AD38", 38, None),
        ("R14A", 14, "R"),
    ],
)
def test_au_number_and_side(code, number, side):
    assert au_number(code) == number
    assert au_side(code) == side


@pytest.mark.parametrize("bad", ["?", "4+7", "", "AU"])
def test_au_number_rejects_non_single_aus(bad):
    with pytest.raises(DataError):
        au_number(bad)
    with pytest.raises(DataError):
        au_side(bad)


@pytest.mark.parametrize("bad", ["4", "AU04x", "X4", "AU0"])
def test_token_requires_canonical_code(bad):
    with pytest.raises(DataError, match="canonical"):
        AUToken(bad)


def test_token_rejects_bad_intensity():
    with pytest.raises(DataError, match="intensity"):
        AUToken("AU4", intensity="F")
