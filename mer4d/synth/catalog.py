"""Which AU combinations the simulator draws, and how often.

Labels are never assigned here: each 4DME clip's emotion comes from its AUs through the 4DME rule
engine (``mer4d.labels.au_emotion``, the paper's Table 4 and rules), as 4DME's annotators did. The
combinations are chosen so every emotion class occurs under the paper's table, including unilateral
(L/R) variants a frontal view sees poorly (about 18% of clips), two-emotion clips such as
Surprise+Positive, and each way of reaching Others (only dependent AUs, a no-emotion AU, an AU
outside the table, Positive with Negative, three emotions).

Static AUs (4DME's ``(k)`` flag) count toward the label (the paper's rule 7), so
:data:`STATIC_CHOICES` holds mostly *dependent* AUs (AU6, AU25), which never change a label, and
AU12, the paper's own static example (Fig. 6: ``AU1+2+5+12(k)`` is Surprise+Positive): a held smile
turns a Surprise clip into Surprise+Positive, a Repression clip into Positive+Repression, a Negative
clip into Others (conflict) and a dependent-only clip into Positive. A static AU already moving in
the clip is not drawn.
"""

from __future__ import annotations

import numpy as np

from mer4d.labels.aus import au_number, au_side

# (AU codes, relative weight); the label under the paper's Table 4 in the comment of each line.
MICRO_COMBINATIONS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("AU12",), 2.0), (("AU6", "AU12"), 2.0), (("L12",), 1.0), (("R12",), 1.0), (("AU12", "AU25"), 0.5),  # Positive
    (("AU1", "AU2"), 2.0), (("AU2",), 0.5), (("L1", "L2"), 1.0), (("R2",), 0.5),  # Surprise
    (("AU1", "AU2", "AU5"), 1.0), (("AU1", "AU2", "AU25"), 0.5),  # Surprise (AU5, AU25 dependent)
    (("AU4",), 2.0), (("AU4", "AU7"), 1.5), (("AU7",), 0.5), (("AU1",), 0.5), (("AU1", "AU4"), 0.5),  # Negative
    (("AU9",), 0.5), (("AU10",), 0.5), (("R4",), 1.0), (("L7",), 0.5), (("AU4", "AU5", "AU7"), 0.5),  # Negative
    (("AU14",), 1.5), (("AU15",), 1.0), (("AU17",), 1.0), (("AU24",), 1.0), (("L14",), 1.0), (("AU17", "AU24"), 0.5),  # Repression
    (("AU1", "AU2", "AU12"), 1.0), (("L1", "L2", "AU12"), 0.3),  # Surprise+Positive
    (("AU1", "AU2", "AU4"), 0.5), (("AU4", "AU14"), 0.5), (("AU12", "AU14"), 0.5), (("AU1", "AU2", "AU14"), 0.3),  # two emotions
    (("AU5",), 0.5), (("AU6",), 1.0), (("AU20",), 0.5), (("AU6", "AU25"), 0.5),  # Others: only dependent AUs
    (("AU43",), 0.3), (("AU23",), 0.3),  # Others: a no-emotion AU, an AU outside the table
    (("AU12", "AU4"), 0.5), (("AU1", "AU2", "AU12", "AU14"), 0.2),  # Others: conflict, three emotions
)
# AUs that may be held through a clip and written with 4DME's "(k)" static flag (they count: rule 7).
STATIC_CHOICES: tuple[str, ...] = ("AU6", "AU25", "AU12")
STATIC_SHARE = 0.25  # of the clips hold a static AU


def draw_combination(rng: np.random.Generator) -> tuple[str, ...]:
    weights = np.array([w for _, w in MICRO_COMBINATIONS])
    return MICRO_COMBINATIONS[rng.choice(len(weights), p=weights / weights.sum())][0]


def bilateral(combo: tuple[str, ...]) -> tuple[str, ...]:
    """``combo`` with every one-sided AU replaced by its bilateral AU (``L12`` -> ``AU12``), order kept.

    The emotion rules drop sides, so the label is unchanged; only the sidedness of the movement goes.
    """
    out: list[str] = []
    for code in combo:
        code = f"AU{au_number(code)}" if au_side(code) else code
        if code not in out:
            out.append(code)
    return tuple(out)


def draw_clip_aus(rng: np.random.Generator, *, unilateral: bool = True) -> tuple[tuple[str, ...], str | None]:
    """One 4DME clip's moving AU combination and its static AU (or None), as the 4DME writer draws them.

    With ``unilateral=False`` every one-sided AU becomes bilateral (:func:`bilateral`); the random draws
    are the same, so the same generator state gives the same labels with or without sides.
    """
    combo = draw_combination(rng)
    moving = {au_number(code) for code in combo}
    candidates = [code for code in STATIC_CHOICES if au_number(code) not in moving]
    static = candidates[int(rng.integers(len(candidates)))] if rng.random() < STATIC_SHARE and candidates else None
    return (combo if unilateral else bilateral(combo)), static


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
