"""The FACS codes a label file may use (Ekman, Friesen & Hager, FACS 2002 manual).

Main action units 1-2 and 4-28 (no AU3), eye/lid codes 41-46, miscellaneous action
descriptors (8, 19, 21, 29-40, written ``AD<n>`` by DFME), head positions 51-58, eye positions
61-66 and 69, visibility codes 70-74 and gross behaviour 80-85. Anything else (``AU99``, ``AU3``,
``AU0``) is a typo to report, not a label.
"""

from __future__ import annotations

FACS_NUMBERS: frozenset[int] = frozenset(
    [1, 2, *range(4, 47), *range(50, 59), *range(61, 67), 69, *range(70, 75), *range(80, 86)]
)


def is_facs(number: int) -> bool:
    return int(number) in FACS_NUMBERS
