"""The 4DME simulator's AU catalog under the paper's Table 4: every class occurs, sides can be switched off."""

from collections import Counter

import numpy as np
import pytest

from mer4d.labels.au_emotion import FOURDME_EMOTIONS, emotions_from_aus, explain_emotions
from mer4d.labels.aus import AUToken, au_number, au_side
from mer4d.synth.aus import SUPPORTED_AUS
from mer4d.synth.catalog import MICRO_COMBINATIONS, STATIC_CHOICES, bilateral, draw_clip_aus

N = 2000


def labels(combo, static):
    return emotions_from_aus([AUToken(c) for c in combo] + ([AUToken(static, static=True)] if static else []))


def draws(unilateral=True):
    return [draw_clip_aus(np.random.default_rng([0, i]), unilateral=unilateral) for i in range(N)]


@pytest.fixture(scope="module")
def drawn():
    return draws()


def test_every_code_is_in_the_au_library():
    for combo, weight in MICRO_COMBINATIONS:
        assert weight > 0 and set(combo) <= set(SUPPORTED_AUS), combo
        assert len({au_number(c) for c in combo}) == len(combo), combo  # one code per AU: bilateral() keeps the length
    assert set(STATIC_CHOICES) <= set(SUPPORTED_AUS)


def test_every_class_and_every_route_to_others_occurs(drawn):
    counts = Counter(labels(*d) for d in drawn)
    per_class = Counter(e for ls, n in counts.items() for e in ls for _ in range(n))
    for emotion in FOURDME_EMOTIONS:
        assert per_class[emotion] / N > 0.10, (emotion, per_class)
    two = sum(n for ls, n in counts.items() if len(ls) == 2) / N
    assert 0.05 < two < 0.25
    rules = Counter(explain_emotions([AUToken(c) for c in combo]).rule for combo, _ in MICRO_COMBINATIONS)
    assert {"matched", "no decisive AU", "conflicting emotions", "too many emotions"} <= set(rules)


def test_static_aus_count_and_never_repeat_a_moving_one(drawn):
    with_static = [(combo, s) for combo, s in drawn if s is not None]
    assert 0.15 < len(with_static) / N < 0.35
    assert all(au_number(s) not in {au_number(c) for c in combo} for combo, s in with_static)
    # rule 7: a held AU12 adds Positive to a Surprise clip
    assert any(labels(combo, s) == ("Surprise", "Positive") and labels(combo, None) == ("Surprise",) for combo, s in with_static)


def test_unilateral_share_by_default(drawn):
    share = sum(any(au_side(c) for c in combo) for combo, _ in drawn) / N
    assert 0.10 < share < 0.30


def test_bilateral_replaces_sides():
    assert bilateral(("L12",)) == ("AU12",)
    assert bilateral(("L1", "L2")) == ("AU1", "AU2")
    assert bilateral(("R4", "AU7")) == ("AU4", "AU7")
    assert bilateral(("L14",)) == ("AU14",)
    assert bilateral(("L12", "R12")) == ("AU12",)


def test_unilateral_false_same_draws_same_labels_no_sides(drawn):
    both = draws(unilateral=False)
    assert not any(au_side(c) for combo, _ in both for c in combo)
    assert [s for _, s in both] == [s for _, s in drawn]
    assert [bilateral(c) for c, _ in drawn] == [c for c, _ in both]
    assert [labels(*d) for d in both] == [labels(*d) for d in drawn]  # clip by clip, not only in distribution
