"""Which AU combinations the simulator draws, and how often.

Labels are never assigned here: each clip's emotion comes from its AUs through the 4DME rule
engine (``mer4d.labels.au_emotion``), as 4DME's annotators did. The combinations are chosen so
every emotion class occurs, including unilateral (L/R) variants a frontal view sees poorly, and
two-emotion clips such as Surprise+Positive.
"""

from __future__ import annotations

import numpy as np

# (AU codes, relative weight)
MICRO_COMBINATIONS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("AU12",), 2.0), (("AU6", "AU12"), 2.0), (("L12",), 1.0), (("R12",), 1.0),
    (("AU1", "AU2"), 2.0), (("AU5",), 1.0), (("L1", "L2"), 1.0), (("AU1", "AU2", "AU25"), 1.0),
    (("AU4",), 2.0), (("AU4", "AU7"), 1.5), (("AU9",), 1.0), (("AU10",), 1.0), (("R4",), 1.0), (("AU20",), 0.5),
    (("AU14",), 1.5), (("AU15",), 1.0), (("AU17",), 1.0), (("AU24",), 1.0), (("L14",), 1.0),
    (("AU1", "AU2", "AU12"), 1.0), (("AU5", "AU4"), 0.5),
    (("AU6",), 1.0), (("AU7",), 1.0), (("AU12", "AU4"), 0.5),
)
# AUs that may be held through a clip and written with 4DME's "(k)" static flag.
STATIC_CHOICES: tuple[str, ...] = ("AU4", "AU7", "AU25", "AU6")


def draw_combination(rng: np.random.Generator) -> tuple[str, ...]:
    weights = np.array([w for _, w in MICRO_COMBINATIONS])
    return MICRO_COMBINATIONS[rng.choice(len(weights), p=weights / weights.sum())][0]


# Emotion -> AU combinations a clip of that emotion shows, for the 2D dataset writers that draw the
# label first (CASME II, SAMM, SMIC, CAS(ME)^3, MMEW annotate an emotion per clip). After the
# prototypes of the CASME II and SAMM coding guides (happiness AU6+12, disgust AU9/10/4+7,
# surprise AU1+2(+5), repression AU14/15/17/24, sadness AU1+4+15, fear AU1+2+4+20, anger AU4+7/23,
# contempt unilateral AU14); "others" shows brow or lid actions no rule reads as an emotion.
EMOTION_AUS: dict[str, tuple[tuple[str, ...], ...]] = {
    "happiness": (("AU6", "AU12"), ("AU12",), ("L12",), ("R12",)),
    "surprise": (("AU1", "AU2"), ("AU1", "AU2", "AU5"), ("AU5",), ("L1", "L2")),
    "disgust": (("AU9",), ("AU10",), ("AU4", "AU9"), ("AU4", "AU7", "AU10")),
    "repression": (("AU14",), ("AU15",), ("AU17",), ("AU24",), ("L14",)),
    "sadness": (("AU1", "AU4", "AU15"), ("AU15", "AU17"), ("AU1", "AU4")),
    "fear": (("AU1", "AU2", "AU4", "AU20"), ("AU4", "AU20"), ("AU20",)),
    "anger": (("AU4", "AU7"), ("AU4",), ("R4",), ("AU4", "AU23"), ("AU4", "AU24")),
    "contempt": (("L14",), ("R14",), ("R12", "R14")),
    "others": (("AU4",), ("AU7",), ("AU6",), ("AU25",), ("L7",), ("AU43",)),
}
# Three-class (MEGC2019 / SMIC) and valence-style labels draw from the basic emotions they pool.
EMOTION_AUS["negative"] = EMOTION_AUS["disgust"] + EMOTION_AUS["anger"] + EMOTION_AUS["sadness"] + EMOTION_AUS["fear"]
EMOTION_AUS["positive"] = EMOTION_AUS["happiness"]


def draw_emotion_aus(rng: np.random.Generator, emotion: str) -> tuple[str, ...]:
    """An AU combination for a clip labelled ``emotion`` (a key of :data:`EMOTION_AUS`, lower case)."""
    choices = EMOTION_AUS[emotion]
    return choices[int(rng.integers(len(choices)))]
