"""AU -> emotion rules, one test per rule, on a tiny table (rules) and on FOURDME_RULES (table)."""

from __future__ import annotations

import pytest

from mer4d.core.errors import DataError
from mer4d.labels.au_emotion import (
    FOURDME_EMOTIONS,
    FOURDME_RULES,
    LABEL_ORDER,
    RULE_CONFLICT,
    RULE_MATCHED,
    RULE_NO_DECISIVE,
    RULE_TOO_MANY,
    EmotionRules,
    emotions_from_aus,
    explain_emotions,
    format_emotions,
    parse_emotions,
)
from mer4d.labels.aus import AUToken, parse_aus

# A small table independent of FOURDME_RULES, so the rule tests survive corrections to the real table.
TINY = EmotionRules(
    decisive={
        "Positive": (frozenset({12}),),
        "Negative": (frozenset({4}),),
        "Surprise": (frozenset({1, 2}),),
        "Repression": (frozenset({14}),),
    },
    dependent=frozenset({6, 25}),
    no_emotion=frozenset({45}),
)


# --- rule by rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("aus", "emotion"), [("12", "Positive"), ("4", "Negative"), ("1+2", "Surprise"), ("14", "Repression")])
def test_rule_decisive_au_gives_its_emotion(aus, emotion):
    decision = explain_emotions(aus, TINY)
    assert decision.labels == (emotion,)
    assert decision.rule == RULE_MATCHED


def test_rule_pattern_needs_all_its_aus():
    assert emotions_from_aus("1", TINY) == ("Others",)
    assert emotions_from_aus("1+2+25", TINY) == ("Surprise",)


def test_rule_dependent_aus_alone_give_others():
    decision = explain_emotions("6+25", TINY)
    assert decision.labels == ("Others",)
    assert decision.rule == RULE_NO_DECISIVE


def test_rule_dependent_aus_do_not_change_a_decision():
    assert emotions_from_aus("6+12", TINY) == emotions_from_aus("12", TINY) == ("Positive",)


def test_rule_no_emotion_aus_alone_give_others():
    decision = explain_emotions("45", TINY)
    assert (decision.labels, decision.rule, decision.unmapped) == (("Others",), RULE_NO_DECISIVE, ())


def test_rule_no_emotion_aus_are_ignored_next_to_decisive_ones():
    assert emotions_from_aus("45+4", TINY) == ("Negative",)


def test_rule_no_aus_give_others():
    assert emotions_from_aus("", TINY) == ("Others",)
    assert emotions_from_aus([], TINY) == ("Others",)


def test_rule_positive_with_negative_gives_others():
    decision = explain_emotions("12+4", TINY)
    assert decision.labels == ("Others",)
    assert decision.rule == RULE_CONFLICT
    assert decision.matched == ("Positive", "Negative")


def test_rule_three_emotions_give_others():
    decision = explain_emotions("1+2+4+14", TINY)
    assert decision.labels == ("Others",)
    assert decision.rule == RULE_TOO_MANY
    assert decision.matched == ("Surprise", "Negative", "Repression")


@pytest.mark.parametrize(
    ("aus", "labels"),
    [
        ("1+2+12", ("Surprise", "Positive")),
        ("12+14", ("Positive", "Repression")),
        ("4+14", ("Negative", "Repression")),
        ("4+1+2", ("Surprise", "Negative")),
    ],
)
def test_rule_two_emotions_are_kept_in_label_order(aus, labels):
    assert emotions_from_aus(aus, TINY) == labels


def test_rule_static_aus_are_ignored():
    decision = explain_emotions("AU4(k)+AU12", TINY)
    assert decision.labels == ("Positive",)  # no Positive+Negative conflict: AU4 is held, not moving
    assert decision.ignored_static == ("AU4(k)",)
    assert emotions_from_aus("AU12(k)", TINY) == ("Others",)


def test_rule_side_variants_count_as_the_au():
    assert emotions_from_aus("L12", TINY) == ("Positive",)
    assert emotions_from_aus("R1+L2", TINY) == ("Surprise",)
    assert emotions_from_aus("A12B", TINY) == ("Positive",)  # SAMM asymmetric + intensity


def test_max_emotions_is_a_parameter():
    one = EmotionRules(decisive=TINY.decisive, dependent=TINY.dependent, no_emotion=TINY.no_emotion, max_emotions=1)
    assert explain_emotions("1+2+14", one).rule == RULE_TOO_MANY


def test_unmapped_aus_are_reported_and_carry_no_emotion():
    decision = explain_emotions("99+12", TINY)
    assert decision.labels == ("Positive",)
    assert decision.unmapped == (99,)


# --- inputs -----------------------------------------------------------------------------------------


def test_inputs_tokens_strings_and_whole_cells_agree():
    tokens = parse_aus("AUR2+AU1+12(k)")
    expected = ("Surprise",)
    assert emotions_from_aus(tokens, TINY) == expected
    assert emotions_from_aus(["R2", "AU1", "12(k)"], TINY) == expected
    assert emotions_from_aus("AUR2+AU1+12(k)", TINY) == expected
    assert emotions_from_aus([AUToken("R2"), "1"], TINY) == expected


def test_bad_au_text_raises():
    with pytest.raises(DataError, match=r"'\?'"):
        emotions_from_aus("4+?", TINY)


# --- the FOURDME_RULES table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aus", "labels"),
    [
        ("AU12", ("Positive",)),
        ("6+12", ("Positive",)),
        ("1+2", ("Surprise",)),
        ("5", ("Surprise",)),
        ("4", ("Negative",)),
        ("9", ("Negative",)),
        ("10", ("Negative",)),
        ("14", ("Repression",)),
        ("17", ("Repression",)),
        ("1+2+L12", ("Surprise", "Positive")),
        ("AU4(k)+L7", ("Others",)),
        ("25+26", ("Others",)),
        ("45", ("Others",)),
        ("4+12", ("Others",)),
        ("1+2+4+14", ("Others",)),
    ],
)
def test_fourdme_table(aus, labels):
    assert emotions_from_aus(aus) == labels


def test_fourdme_table_is_read_only():
    with pytest.raises(TypeError):
        FOURDME_RULES.decisive["Positive"] = ()  # type: ignore[index]


def test_label_order_fits_every_combination_seen_in_4dme_files():
    for text in ["Surprise+Positive", "Surprise+Negative", "Surprise+Repression", "Positive+Repression", "Negative+Repression"]:
        assert format_emotions(parse_emotions(text)) == text
    assert set(LABEL_ORDER) == set(FOURDME_EMOTIONS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decisive": {"Joy": (frozenset({12}),)}}, "Joy"),
        ({"decisive": {"Positive": (frozenset(),)}}, "empty"),
        ({"decisive": {"Positive": (frozenset({12}),), "Negative": (frozenset({12}),)}}, "AU12"),
        ({"decisive": {"Positive": (frozenset({12}),)}, "dependent": frozenset({12})}, "dependent"),
        ({"decisive": {"Positive": (frozenset({12}),)}, "no_emotion": frozenset({12})}, "no-emotion"),
        ({"decisive": {}, "max_emotions": 0}, "max_emotions"),
    ],
)
def test_inconsistent_tables_are_rejected(kwargs, match):
    args = {"dependent": frozenset(), "no_emotion": frozenset(), **kwargs}
    with pytest.raises(DataError, match=match):
        EmotionRules(**args)


# --- emotion strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Surprise+Positive", ("Surprise", "Positive")),
        ("positive+SURPRISE", ("Surprise", "Positive")),
        (" Negative + Repression ", ("Negative", "Repression")),
        ("Others", ("Others",)),
        ("other", ("Others",)),
        ("Positive+positive", ("Positive",)),
        ("Repression+", ("Repression",)),
    ],
)
def test_parse_emotions(text, labels):
    assert parse_emotions(text) == labels


def test_parse_emotions_names_unknown_labels_and_source():
    with pytest.raises(DataError) as info:
        parse_emotions("Surprise+Posotive+Happy", source="labels.xlsx row 14")
    message = str(info.value)
    assert "labels.xlsx row 14" in message
    assert "'Posotive' (did you mean 'Positive'?)" in message
    assert "'Happy'" in message
    assert "Repression" in message  # the expected vocabulary is listed


@pytest.mark.parametrize("bad", ["", "  ", "+", None, float("nan"), 3])
def test_parse_emotions_rejects_empty_and_non_text(bad):
    with pytest.raises(DataError, match="row 2"):
        parse_emotions(bad, source="row 2")


def test_format_emotions():
    assert format_emotions(("Positive", "Surprise")) == "Surprise+Positive"
    assert format_emotions(emotions_from_aus("1+2+12")) == "Surprise+Positive"
    with pytest.raises(DataError, match="Joy"):
        format_emotions(["Joy"])
