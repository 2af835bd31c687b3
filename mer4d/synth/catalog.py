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
