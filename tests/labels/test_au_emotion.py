"""AU -> emotion rules, one test per rule, on a tiny table (rules), on the 4DME paper's Table 4 (FOURDME_RULES,
the default) and on the earlier reconstruction (kept for recipes that name it)."""

from __future__ import annotations

import pytest

from mer4d.core.errors import DataError
from mer4d.labels.au_emotion import (
    FOURDME_EMOTIONS,
    FOURDME_PAPER_RULES,
    FOURDME_RECONSTRUCTION_RULES,
    FOURDME_RULE_TABLES,
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
    fourdme_rules,
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


def test_rule_static_aus_count_by_default():
    decision = explain_emotions("AU4(k)+AU12", TINY)
    assert (decision.labels, decision.rule) == (("Others",), RULE_CONFLICT)  # the held AU4 counts (4DME rule 7)
    assert decision.ignored_static == ()
    assert emotions_from_aus("AU12(k)", TINY) == ("Positive",)
    assert emotions_from_aus("AU12(k)+AU1+AU2", TINY) == ("Surprise", "Positive")


def test_rule_static_aus_are_ignored_when_the_table_says_so():
    moving_only = EmotionRules(decisive=TINY.decisive, dependent=TINY.dependent, no_emotion=TINY.no_emotion, static_counts=False)
    decision = explain_emotions("AU4(k)+AU12", moving_only)
    assert decision.labels == ("Positive",)  # no Positive+Negative conflict: AU4 is held, not moving
    assert decision.ignored_static == ("AU4(k)",)
    assert emotions_from_aus("AU12(k)", moving_only) == ("Others",)


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
    expected = ("Surprise", "Positive")  # the static AU12 counts
    assert emotions_from_aus(tokens, TINY) == expected
    assert emotions_from_aus(["R2", "AU1", "12(k)"], TINY) == expected
    assert emotions_from_aus("AUR2+AU1+12(k)", TINY) == expected
    assert emotions_from_aus([AUToken("R2"), "1", AUToken("AU12", static=True)], TINY) == expected


def test_bad_au_text_raises():
    with pytest.raises(DataError, match=r"'\?'"):
        emotions_from_aus("4+?", TINY)


# --- precedence: a combination over its parts ------------------------------------------------------

# AU1 alone is Negative, AU1+2 Surprise, as in the paper's Table 4.
NESTED = EmotionRules(
    decisive={"Negative": (frozenset({1}), frozenset({4})), "Surprise": (frozenset({2}), frozenset({1, 2})), "Positive": (frozenset({12}),)},
    dependent=frozenset({5}),
    no_emotion=frozenset(),
)


@pytest.mark.parametrize(
    ("aus", "labels", "overruled"),
    [
        ("1", ("Negative",), ()),
        ("1+2", ("Surprise",), ("Negative",)),  # AU1 is part of Surprise's AU1+2: not Negative too
        ("1+4", ("Negative",), ()),
        ("1+2+4", ("Surprise", "Negative"), ()),  # AU4 still gives Negative
        ("L1+R2", ("Surprise",), ("Negative",)),
    ],
)
def test_precedence_combination_over_its_parts(aus, labels, overruled):
    decision = explain_emotions(aus, NESTED)
    assert decision.labels == labels
    assert decision.overruled == overruled


# --- the paper's Table 4 (FOURDME_RULES, the default) ----------------------------------------------


@pytest.mark.parametrize(
    ("aus", "labels", "rule"),
    [
        ("AU12", ("Positive",), RULE_MATCHED),
        ("AU4", ("Negative",), RULE_MATCHED),
        ("AU1", ("Negative",), RULE_MATCHED),
        ("AU7", ("Negative",), RULE_MATCHED),
        ("AU9", ("Negative",), RULE_MATCHED),
        ("AU10", ("Negative",), RULE_MATCHED),
        ("AU2", ("Surprise",), RULE_MATCHED),
        ("AU1+AU2", ("Surprise",), RULE_MATCHED),
        ("AU1+AU4", ("Negative",), RULE_MATCHED),
        ("AU1+AU2+AU4", ("Surprise", "Negative"), RULE_MATCHED),
        ("AU14", ("Repression",), RULE_MATCHED),
        ("AU15", ("Repression",), RULE_MATCHED),
        ("AU17", ("Repression",), RULE_MATCHED),
        ("AU24", ("Repression",), RULE_MATCHED),
        ("AU5", ("Others",), RULE_NO_DECISIVE),  # rule 5: only dependent AUs
        ("AU6+AU25", ("Others",), RULE_NO_DECISIVE),
        ("AU20", ("Others",), RULE_NO_DECISIVE),
        ("AU45", ("Others",), RULE_NO_DECISIVE),  # no emotion
        ("AU39+AU43+AU56+AU58+AU63+AU64", ("Others",), RULE_NO_DECISIVE),
        ("AU12+AU4", ("Others",), RULE_CONFLICT),  # rule 6
        ("AU1+AU12", ("Others",), RULE_CONFLICT),  # AU1 alone is Negative
        ("AU1+AU2+AU12+AU14", ("Others",), RULE_TOO_MANY),  # rule 4: three emotions
        ("AU1+AU2+AU12", ("Surprise", "Positive"), RULE_MATCHED),  # rule 3: two emotions
        ("AU12+AU14", ("Positive", "Repression"), RULE_MATCHED),
        ("AU4+AU7+AU14", ("Negative", "Repression"), RULE_MATCHED),
        ("AU2+AU14", ("Surprise", "Repression"), RULE_MATCHED),
        ("AU12(k)+AU1+AU2", ("Surprise", "Positive"), RULE_MATCHED),  # rule 7: the static AU12 counts
        ("AU4(k)+AU12", ("Others",), RULE_CONFLICT),  # rule 7: a static AU4 conflicts with a smile
        ("L12", ("Positive",), RULE_MATCHED),  # sides dropped
        ("L1+L2", ("Surprise",), RULE_MATCHED),
        ("R4", ("Negative",), RULE_MATCHED),
        ("L14", ("Repression",), RULE_MATCHED),
        ("", ("Others",), RULE_NO_DECISIVE),
    ],
)
def test_paper_table(aus, labels, rule):
    decision = explain_emotions(aus)
    assert (decision.labels, decision.rule) == (labels, rule)
    assert explain_emotions(aus, FOURDME_PAPER_RULES) == decision


def test_paper_fig6_example():
    # Fig. 6: "AU 1+2+5+12", AU1 deciding the phases, AU12 marked (k) static.
    decision = explain_emotions("AU1+AU2+AU5+AU12(k)")
    assert decision.labels == ("Surprise", "Positive")
    assert decision.ignored_static == ()
    assert emotions_from_aus("AU1+AU2+AU5+AU12") == ("Surprise", "Positive")


def test_paper_positive_with_negative_example():
    # Fig. 5's clips are both 'Others'; their AU cells are not printed in the text, so this is a
    # made-up cell of the kind rule 6 names (brow lowerer with a smile, intensity letters as in Fig. 5).
    decision = explain_emotions("AU4A+AU12B")
    assert (decision.labels, decision.rule, decision.matched) == (("Others",), RULE_CONFLICT, ("Positive", "Negative"))


def test_paper_table_lists_exactly_table_4():
    rules = FOURDME_RULES
    assert rules is FOURDME_PAPER_RULES is FOURDME_RULE_TABLES["paper"]
    patterns = {e: sorted(tuple(sorted(p)) for p in ps) for e, ps in rules.decisive.items()}
    assert patterns == {
        "Negative": [(1,), (4,), (7,), (9,), (10,)],
        "Positive": [(12,)],
        "Surprise": [(1, 2), (2,)],
        "Repression": [(14,), (15,), (17,), (24,)],
    }
    assert rules.dependent == {5, 6, 20, 25}
    assert rules.no_emotion == {39, 43, 45, 56, 58, 63, 64}
    assert rules.static_counts and rules.max_emotions == 2 and rules.conflicts == (frozenset({"Positive", "Negative"}),)


@pytest.mark.parametrize("aus", ["AU16", "AU23", "AU26", "AU23+AU26"])
def test_paper_table_unmapped_aus_carry_no_emotion_and_are_reported(aus):
    decision = explain_emotions(aus)
    assert (decision.labels, decision.rule) == (("Others",), RULE_NO_DECISIVE)
    assert decision.unmapped == tuple(int(a) for a in aus.replace("AU", "").split("+"))
    assert explain_emotions(aus + "+AU12").labels == ("Positive",)
    assert explain_emotions("AU23(k)+AU12").unmapped == (23,)  # static AUs are considered, so reported too


# --- the earlier reconstruction (only when named) ----------------------------------------------------


@pytest.mark.parametrize(
    ("aus", "labels"),
    [
        ("AU12", ("Positive",)),
        ("6+12", ("Positive",)),
        ("1+2", ("Surprise",)),
        ("5", ("Surprise",)),
        ("1", ("Others",)),
        ("2", ("Others",)),
        ("7", ("Others",)),
        ("4", ("Negative",)),
        ("9", ("Negative",)),
        ("10", ("Negative",)),
        ("16", ("Negative",)),
        ("20", ("Negative",)),
        ("23", ("Negative",)),
        ("14", ("Repression",)),
        ("17", ("Repression",)),
        ("1+2+L12", ("Surprise", "Positive")),
        ("AU4(k)+L7", ("Others",)),
        ("AU4(k)+AU12", ("Positive",)),  # static AUs dropped
        ("AU1+AU2+AU5+AU12(k)", ("Surprise",)),
        ("25+26", ("Others",)),
        ("45", ("Others",)),
        ("4+12", ("Others",)),
        ("1+2+4+14", ("Others",)),
    ],
)
def test_reconstruction_table_keeps_its_old_answers(aus, labels):
    assert emotions_from_aus(aus, FOURDME_RECONSTRUCTION_RULES) == labels
    assert emotions_from_aus(aus, fourdme_rules("reconstruction")) == labels


def test_rule_tables_by_name():
    assert fourdme_rules("paper") is FOURDME_RULES
    with pytest.raises(DataError, match=r"'papr' \(did you mean 'paper'\?\).*'paper', 'reconstruction'"):
        fourdme_rules("papr")
    with pytest.raises(DataError, match="expected one of 'paper', 'reconstruction'"):
        fourdme_rules(3)  # type: ignore[arg-type]


def test_nested_patterns_of_two_emotions_are_accepted():
    assert NESTED.decisive["Surprise"] == (frozenset({2}), frozenset({1, 2}))
    # a dependent AU may be part of a combination (the reconstruction's AU1, AU2 alone, AU1+2 Surprise)
    EmotionRules(decisive={"Surprise": (frozenset({1, 2}),)}, dependent=frozenset({1, 2}), no_emotion=frozenset())


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
        ({"decisive": {"Positive": (frozenset({12}),), "Negative": (frozenset({12}),)}}, r"AU \[12\].*cannot decide"),
        ({"decisive": {"Surprise": (frozenset({1, 2}),), "Negative": (frozenset({1, 4}),)}}, r"AU \[1\] is in AU1\+2 for 'Surprise'"),
        ({"decisive": {"Surprise": (frozenset({1, 2}),), "Negative": (frozenset({1}),)}, "dependent": frozenset({1})}, "dependent"),
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
