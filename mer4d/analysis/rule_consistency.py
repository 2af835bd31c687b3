"""How well a dataset's emotion labels agree with the 4DME paper's AU -> emotion rules (its Table 4).

For every clip the rules (:data:`mer4d.labels.au_emotion.FOURDME_PAPER_RULES`) label the clip's
AUs, and that label is compared with the dataset's own, put into the 4DME classes first:

* 4DME itself: its labels are 4DME classes (``Surprise+Positive`` is the set {Surprise, Positive});
* every other dataset: :data:`TO_FOURDME` maps its emotions, after the 4DME paper (§4.1.2, rule 2:
  Negative is not divided, "fear, disgust and sad" all count as Negative) and the MEGC2019 pooling
  (anger and contempt are negative too); happiness -> Positive; surprise, repression and others keep
  their 4DME class. An emotion outside the table (SMIC-E's ``non_micro``) is *not compared* and
  counted as such.

Each clip then gets a verdict (:data:`VERDICTS`): ``same`` (the rules give exactly the dataset's
class set), ``partial`` (they share a class, e.g. the rules say Surprise+Negative for a clip the
dataset calls Negative), ``different``, or ``not compared``; and a reason saying which AUs and which
rule led to the rules' label, e.g. ``AU4 -> Negative`` or ``Positive (AU12) with Negative (AU4):
conflicting -> Others (rule 6)``.

The rules read AUs only. A dataset whose emotions come from self-reports and context (CASME II,
SAMM, DFME) can disagree with them for good reasons: the comparison shows *how far* its labels
follow the AU table, not which is right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from mer4d.labels.au_emotion import (
    FOURDME_EMOTIONS,
    FOURDME_PAPER_RULES,
    LABEL_ORDER,
    RULE_CONFLICT,
    RULE_MATCHED,
    RULE_TOO_MANY,
    EmotionRules,
    explain_emotions,
)
from mer4d.labels.aus import AUToken

TO_FOURDME: Mapping[str, str] = MappingProxyType({
    "happiness": "Positive", "happy": "Positive", "positive": "Positive",
    "surprise": "Surprise",
    "repression": "Repression",
    "disgust": "Negative", "fear": "Negative", "sadness": "Negative", "sad": "Negative",
    "anger": "Negative", "contempt": "Negative", "negative": "Negative",
    "others": "Others", "other": "Others",
})
SAME, PARTIAL, DIFFERENT, NOT_COMPARED = "same", "partial", "different", "not compared"
VERDICTS = (SAME, PARTIAL, DIFFERENT, NOT_COMPARED)


@dataclass(frozen=True)
class Consistency:
    """The per-clip comparison and its summaries.

    Attributes:
        clips: one row per clip: clip_id, subject, emotion (the dataset's), as_4dme (its 4DME classes,
            joined with '+', empty when not compared), aus, rules (the rules' label), rule (which rule
            decided), verdict, reason.
        mapping: dataset emotion -> 4DME class(es) as used (4DME: identity), for the record.
    """

    clips: pd.DataFrame
    mapping: Mapping[str, str]

    def counts(self) -> pd.DataFrame:
        """Clips per verdict, with their share of the compared clips (``not compared`` of all clips)."""
        n_all, compared = len(self.clips), int((self.clips["verdict"] != NOT_COMPARED).sum())
        rows = []
        for verdict in VERDICTS:
            n = int((self.clips["verdict"] == verdict).sum())
            base = n_all if verdict == NOT_COMPARED else compared
            rows.append({"verdict": verdict, "clips": n, "share": n / base if base else float("nan")})
        return pd.DataFrame(rows)

    def crosstab(self) -> pd.DataFrame:
        """Dataset label (in 4DME classes) x the rules' label: clip counts (compared clips only)."""
        shown = self.clips[self.clips["verdict"] != NOT_COMPARED]
        table = pd.crosstab(shown["as_4dme"], shown["rules"])
        # the same labels on both axes, in 4DME label order (single classes first), so agreement is the diagonal
        order = list(LABEL_ORDER)
        labels = sorted(set(table.index) | set(table.columns), key=lambda t: (t.count("+"), [order.index(p) for p in t.split("+")]))
        table = table.reindex(index=[x for x in labels if x in table.index], columns=labels, fill_value=0)
        return table.rename_axis(index="dataset label (4DME classes)", columns="rules' label")

    def reasons(self, top: int | None = None) -> pd.DataFrame:
        """The disagreements grouped: dataset label, rules' label, reason, clips (most first)."""
        wrong = self.clips[self.clips["verdict"].isin([PARTIAL, DIFFERENT])]
        if wrong.empty:
            return pd.DataFrame(columns=["emotion", "as_4dme", "rules", "verdict", "reason", "clips"])
        grouped = (wrong.groupby(["emotion", "as_4dme", "rules", "verdict", "reason"]).size().rename("clips").reset_index()
                   .sort_values(["clips", "emotion", "reason"], ascending=[False, True, True], kind="stable"))
        return (grouped.head(top) if top is not None else grouped).reset_index(drop=True)


def _name(pattern: Iterable[int]) -> str:
    return "AU" + "+".join(map(str, sorted(pattern)))


def explain_decision(tokens: list[AUToken], rules: EmotionRules = FOURDME_PAPER_RULES) -> tuple[tuple[str, ...], str, str]:
    """The rules' labels for one clip's AUs, the rule that decided, and a reason naming the AUs."""
    decision = explain_emotions(tokens, rules)
    present = {t.number for t in tokens if rules.static_counts or not t.static}
    evidence = {}
    for emotion in decision.matched:
        patterns = [p for p in rules.decisive[emotion] if p <= present]
        # the patterns that counted: not a proper part of another emotion's present pattern (precedence)
        counted = [p for p in patterns if not any(f != emotion and p < q for f, qs in rules.decisive.items() for q in qs if q <= present)]
        widest = [p for p in counted if not any(p < q for q in counted)]  # AU1+2, not also its part AU2
        evidence[emotion] = ", ".join(_name(p) for p in sorted(widest, key=sorted))
    said = "; ".join(f"{evidence[e]} -> {e}" for e in decision.matched)
    overruled = _overruled(decision.overruled, present, rules)
    if decision.rule == RULE_MATCHED:
        reason = said + overruled
    elif decision.rule == RULE_CONFLICT:
        reason = f"{said}: conflicting -> Others (rule 6)"
    elif decision.rule == RULE_TOO_MANY:
        reason = f"{said}: {len(decision.matched)} emotions -> Others (rules 3-4)"
    else:
        reason = _no_decisive(present, rules) + overruled
    return decision.labels, decision.rule, reason


def _overruled(emotions: tuple[str, ...], present: set[int], rules: EmotionRules) -> str:
    """`` (Negative's AU1 is part of Surprise's AU1+2: the combination takes precedence)`` for each overruled emotion."""
    parts = []
    for emotion in emotions:
        for p in (p for p in rules.decisive[emotion] if p <= present):
            wider = next((f, q) for f, qs in rules.decisive.items() if f != emotion for q in qs if q <= present and p < q)
            parts.append(f"{emotion}'s {_name(p)} is part of {wider[0]}'s {_name(wider[1])}")
    return f" ({'; '.join(parts)}: the combination takes precedence)" if parts else ""


def _no_decisive(present: set[int], rules: EmotionRules) -> str:
    if not present:
        return "no AU coded -> Others (rule 5)"
    parts = []
    for name, group in (("dependent", rules.dependent), ("no-emotion", rules.no_emotion)):
        found = sorted(present & group)
        if found:
            parts.append(f"{name} {', '.join(f'AU{n}' for n in found)}")
    outside = sorted(present - rules.mapped)
    if outside:
        parts.append(f"outside the table {', '.join(f'AU{n}' for n in outside)}")
    return f"no decisive AU ({'; '.join(parts)}) -> Others (rule 5)"


def dataset_classes(emotion: str, multilabel: bool) -> tuple[str, ...] | None:
    """A dataset label as a set of 4DME classes (in 4DME label order), or None when it has no 4DME counterpart."""
    if multilabel:  # 4DME's own joined label
        parts = [p for p in emotion.split("+") if p]
        return tuple(e for e in FOURDME_EMOTIONS if e in parts) if parts and set(parts) <= set(FOURDME_EMOTIONS) else None
    mapped = TO_FOURDME.get(emotion.strip().lower())
    return (mapped,) if mapped is not None else None


def verdict(dataset: tuple[str, ...] | None, rules: tuple[str, ...]) -> str:
    if dataset is None:
        return NOT_COMPARED
    if set(dataset) == set(rules):
        return SAME
    return PARTIAL if set(dataset) & set(rules) else DIFFERENT


def rule_consistency(index: pd.DataFrame, multilabel: bool, rules: EmotionRules = FOURDME_PAPER_RULES) -> Consistency:
    """Compare every clip's label with the rules' label for its AUs (module docstring).

    Args:
        index: an Index with ``emotion`` and ``aus`` (and, for 4DME, ``aus_static``).
        multilabel: the emotions are 4DME's own classes, joined with '+' (``dataset.labels`` multi-label).
    """
    order = list(rules.order)
    static = index["aus_static"] if "aus_static" in index.columns else [()] * len(index)
    rows, used = [], {}
    for clip, subject, emotion, moving, held in zip(index["clip_id"], index["subject"], index["emotion"].astype(str), index["aus"], static, strict=True):
        tokens = [*(AUToken(c) for c in (moving or ())), *(AUToken(c, static=True) for c in (held or ()))]
        labels, rule, reason = explain_decision(tokens, rules)
        mine = dataset_classes(emotion, multilabel)
        used[emotion] = "+".join(mine) if mine is not None else "(not compared)"
        rows.append({
            "clip_id": clip, "subject": subject, "emotion": emotion,
            "as_4dme": "+".join(sorted(mine, key=order.index)) if mine is not None else "",
            "aus": "+".join(str(t) for t in tokens) or "(none)",
            "rules": "+".join(labels), "rule": rule, "verdict": verdict(mine, labels), "reason": reason,
        })
    return Consistency(pd.DataFrame(rows), MappingProxyType(dict(sorted(used.items()))))
