"""AU statistics of a dataset's labels, per emotion: how often each AU occurs, and the frequent AU combinations.

What the DFME paper reports as its Table IV (share of the clips of an emotion in which an AU occurs)
and Table VI (the emotion's high-occurrence AU combinations), for any Index with an ``aus`` column.

AU codes are counted in three views (:data:`VIEWS`):

* ``merged``: sides and halves dropped, ``L12``, ``R12``, ``A12`` (SAMM's asymmetric), ``T18`` / ``B18``
  (top / bottom) all count as ``AU12`` / ``AU18``; a clip with ``L12`` and ``R12`` counts once;
* ``sided``: codes as the Index holds them (``AU12``, ``L12`` and ``R12`` are separate columns);
* ``lr``: the DFME paper's Table IV notation, ``L12`` and ``R12`` pooled into ``L/R-AU12``, the
  bilateral ``AU12`` on its own.

Action descriptors (``AD38``) and head codes (``M57``) keep their prefix in every view. Static AUs
(4DME's ``(k)``, the Index's ``aus_static``) count as occurring, as in the 4DME labelling rules (rule 7).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from mer4d.core.errors import DataError

VIEWS = ("merged", "sided", "lr")
ALL = "all"  # the row of every clip together
_CODE = re.compile(r"^(AU|AD|[LRATBM])(\d+)$")


def view_code(code: str, view: str) -> str:
    """One canonical Index code (``L12``) in ``view``: merged ``AU12``, sided ``L12``, lr ``L/R-AU12``."""
    m = _CODE.match(code)
    if m is None:
        raise DataError(f"AU code {code!r} is not a canonical Index code ('AU4', 'L12', 'R2', 'A12', 'T18', 'AD38', 'M57')")
    prefix, number = m.groups()
    if view == "sided" or prefix in ("AD", "M"):
        return code
    if view == "merged":
        return f"AU{number}"
    if view == "lr":
        return f"L/R-AU{number}" if prefix in ("L", "R") else f"AU{number}"
    raise DataError(f"unknown AU view {view!r}; expected one of {VIEWS}")


def sort_key(code: str) -> tuple[int, str]:
    """AU number first, then the notation: AU1, L1, R1, AU2, ..., AD38, M57."""
    number = int(re.sub(r"\D", "", code) or 0)
    return number, code.replace("L/R-", "~")  # bilateral before its sided forms


def clip_codes(index: pd.DataFrame, view: str) -> list[frozenset[str]]:
    """Each clip's set of AU codes in ``view`` (moving and static AUs)."""
    if "aus" not in index.columns:
        raise DataError(f"the Index has no 'aus' column (columns: {list(index.columns)}); this dataset's labels carry no AUs")
    static = index["aus_static"] if "aus_static" in index.columns else [()] * len(index)
    return [frozenset(view_code(c, view) for c in [*_codes(moving), *_codes(held)]) for moving, held in zip(index["aus"], static, strict=True)]


def _codes(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    return list(value)  # type: ignore[arg-type]


def emotion_groups(index: pd.DataFrame) -> list[str]:
    """The emotion labels (``emotion`` column; 4DME's joined ``Surprise+Positive`` is one), most clips first."""
    if "emotion" not in index.columns:
        raise DataError(f"the Index has no 'emotion' column (columns: {list(index.columns)})")
    counts = index["emotion"].astype(str).value_counts()
    return sorted(counts.index, key=lambda e: (-counts[e], e))


def au_share_table(index: pd.DataFrame, view: str = "merged") -> pd.DataFrame:
    """Emotions x AUs: the share of the emotion's clips in which the AU occurs (0..1), plus ``n_clips``.

    Rows are the emotions (most clips first) and a last row ``all``; columns ``n_clips`` then every
    AU that occurs, in AU-number order.
    """
    codes = clip_codes(index, view)
    emotions = index["emotion"].astype(str).tolist()
    columns = sorted({c for s in codes for c in s}, key=sort_key)
    rows = []
    for group in [*emotion_groups(index), ALL]:
        members = [s for s, e in zip(codes, emotions, strict=True) if group in (ALL, e)]
        counts = Counter(c for s in members for c in s)
        rows.append({"emotion": group, "n_clips": len(members), **{c: counts[c] / len(members) for c in columns}})
    return pd.DataFrame(rows).set_index("emotion")


def combination_name(codes: Iterable[str]) -> str:
    chosen = sorted(codes, key=sort_key)
    return "+".join(chosen) if chosen else "(no AU)"


def top_combinations(index: pd.DataFrame, view: str = "merged", top: int = 5) -> pd.DataFrame:
    """The ``top`` most frequent AU combinations of each emotion: emotion, rank, combination, clips, share.

    A combination is the clip's whole AU set in ``view`` (``AU4+AU7`` is not counted for a clip
    coded ``AU4+AU7+AU10``); ties are broken by name, so the table is deterministic.
    """
    if top < 1:
        raise DataError(f"top combinations: expected at least 1 per emotion, got {top}")
    codes = clip_codes(index, view)
    emotions = index["emotion"].astype(str).tolist()
    rows = []
    for group in emotion_groups(index):
        members = [combination_name(s) for s, e in zip(codes, emotions, strict=True) if e == group]
        counts = Counter(members)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        for rank, (name, n) in enumerate(ranked, start=1):
            rows.append({"emotion": group, "rank": rank, "combination": name, "clips": n, "share": n / len(members)})
    return pd.DataFrame(rows, columns=["emotion", "rank", "combination", "clips", "share"])


def frequent_aus(table: pd.DataFrame, emotion: str, threshold: float = 0.0, top: int | None = None) -> list[tuple[str, float]]:
    """The AUs of ``emotion``'s row of :func:`au_share_table` above ``threshold``, most frequent first."""
    row = table.loc[emotion].drop("n_clips")
    ranked = sorted(((c, float(v)) for c, v in row.items() if v > threshold), key=lambda cv: (-cv[1], sort_key(cv[0])))
    return ranked[:top] if top is not None else ranked
