"""Which planted AUs a view sees: the thresholds of mer4d.synth.visibility."""

import pytest

from mer4d.synth.visibility import vertex_normals, view_axes, visible_aus
from mer4d.synth.writers.fourdme import parse_planted, planted_text, simulated_face

VIEWS = ("left", "front", "right")


@pytest.fixture(scope="module")
def face():
    return simulated_face(0, 0)


def test_large_movements_are_seen_everywhere_and_tiny_ones_nowhere(face):
    big = visible_aus(face, {"AU12": 2.0, "AU4": 2.0}, VIEWS, 30.0, 64)
    assert all(set(big[v]) == {"AU12", "AU4"} for v in VIEWS)
    tiny = visible_aus(face, {"AU12": 0.02, "AU4": 0.02}, VIEWS, 30.0, 64)
    assert all(tiny[v] == () for v in VIEWS)


def test_visibility_grows_with_amplitude_and_resolution(face):
    def count(amplitude, size):
        return sum(len(codes) for codes in visible_aus(face, {"L12": amplitude, "R4": amplitude, "AU14": amplitude}, VIEWS, 30.0, size).values())

    amplitudes = [0.05, 0.2, 0.4, 0.8, 1.6]
    counts = [count(a, 64) for a in amplitudes]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert count(0.3, 256) >= count(0.3, 64)


def test_the_front_view_faces_the_front_of_the_face(face):
    facing = vertex_normals(face) @ -view_axes("front", 30.0)[2] > 0.1
    assert facing[face.front > 0.5].mean() > 0.9


def test_planted_text_round_trip():
    planted = {"L12": 0.7341, "AU6": 0.5}
    assert parse_planted(planted_text(planted)) == {"L12": 0.734, "AU6": 0.5}
    assert parse_planted("") == {} and parse_planted(float("nan")) == {}
