"""AU -> emotion labelling rules of the 4DME kind (objective, multi-label, at most two emotions).

4DME (Li et al., "4DME: A Spontaneous 4D Micro-Expression Dataset With Multimodalities", IEEE Trans.
Affective Computing, §4.1.2) labels each micro-expression with one or two of five classes derived from
its AUs through an AU-Emo mapping table (its Table 4) and seven rules printed under it. The paper is at
hand now, and :data:`FOURDME_RULES` is its Table 4 as printed:

=============  ===================================================
Negative       AU1, AU4, AU7, AU9, AU10
Positive       AU12
Surprise       AU2, AU1+2
Repression     AU14, AU15, AU17, AU24
Others         AU5, AU6, AU20, AU25 (*dependent*)
No emotion     AU39, AU43, AU45, AU56, AU58, AU63, AU64
=============  ===================================================

The engine applies the paper's rules as follows (the paper's rule numbers in brackets):

1. Side prefixes are dropped (``L12`` counts as AU12). Static ``(k)`` AUs count like moving ones
   [rule 7: "static AUs and active AUs are both considered"] unless a table sets ``static_counts=False``.
2. An emotion is *matched* when all AUs of one of its decisive patterns are present, **except** that a
   pattern present only as a proper part of a present pattern of another emotion does not count:
   *a combination takes precedence over its parts*. AU1 alone is Negative, but AU1+2 is Surprise only
   (AU1 is part of the present Surprise pattern AU1+2, so Negative's AU1 is not matched); AU1+4 is
   Negative; AU1+2+4 is Surprise (AU1+2) + Negative (AU4). The decision reports such overruled
   emotions in ``EmotionDecision.overruled``.
3. Dependent AUs go with several emotions and never decide one [rule 5: only dependent AUs -> Others].
4. No-emotion AUs are ignored. AUs the table does not list at all (e.g. AU16, AU23, AU26) are treated
   like no-emotion AUs: the paper calls its table "full-scope", so an AU outside it carries no emotion.
   They are reported in ``EmotionDecision.unmapped`` so a data check can list them.
5. Nothing matched (no AUs, only dependent, no-emotion or unmapped AUs) -> ``Others``.
6. Positive together with Negative is conflicting -> ``Others`` [rule 6].
7. More than ``max_emotions`` (two) matched -> ``Others`` [rules 3 and 4]; otherwise the matched set is
   the label, in :data:`LABEL_ORDER`.

The paper's own example, Fig. 6 ``AU1+2+5+12(k)``: AU1+2 -> Surprise, AU5 dependent, the static AU12 ->
Positive, so ``Surprise+Positive``.

The precedence rule is only well defined when patterns of different emotions that share an AU are
nested (one contains the other); ``EmotionRules`` rejects any other overlap (AU1+2 for Surprise and
AU1+4 for Negative could not decide AU1+2+4), an AU that is both dependent and a decisive pattern on its
own, and an AU listed as no-emotion that the table also uses otherwise.

Two tables are kept (:data:`FOURDME_RULE_TABLES`): ``paper`` (the default, above) and ``reconstruction``,
the FACS-based table mer4d used before the paper was at hand (simulator versions <= 5; static AUs
dropped). The reconstruction is only used when a recipe names it (the 4DME simulator's
``label_rules: reconstruction``). Public loaders of the real label file show these label strings:
Surprise+Positive, Surprise+Negative, Surprise+Repression, Positive+Repression, Negative+Repression
(no Positive+Negative, none with three), which agrees with rules 6 and 7 and gives ``LABEL_ORDER``; the
paper's Table 3 counts the same five pairs (PS, NS, RS, PR, NR).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mer4d.core.errors import DataError
from mer4d.core.registry import suggest
from mer4d.labels.aus import AUToken, parse_aus

# The five 4DME classes in class (one-hot column) order, as in the label file's emotion columns.
FOURDME_EMOTIONS = ("Positive", "Negative", "Surprise", "Repression", "Others")
# Order inside a joined label: every combined string seen in the 4DME label file fits it
# (Surprise+Positive, Surprise+Negative, Surprise+Repression, Positive+Repression, Negative+Repression).
LABEL_ORDER = ("Surprise", "Positive", "Negative", "Repression", "Others")

# Which rule decided, as reported by EmotionDecision.rule.
RULE_MATCHED = "matched"
RULE_NO_DECISIVE = "no decisive AU"
RULE_CONFLICT = "conflicting emotions"
RULE_TOO_MANY = "too many emotions"


@dataclass(frozen=True)
class EmotionRules:
    """An AU -> emotion table plus the rules that resolve it (see the module docstring).

    Attributes:
        decisive: emotion -> patterns; each pattern is a set of AU numbers that, all present, give the emotion
            (unless the pattern is a proper part of a present pattern of another emotion: precedence).
        dependent: AU numbers that accompany emotions but never decide one alone.
        no_emotion: AU numbers that carry no emotion and are ignored.
        conflicts: pairs of emotions that cannot be labelled together; matching both gives ``fallback``.
        max_emotions: most emotions one sample may carry; more gives ``fallback``.
        fallback: the label when no rule gives an emotion.
        order: every label, in the order used inside joined labels (``Surprise+Positive``).
        static_counts: static ``(k)`` AUs count like moving ones (4DME rule 7); False drops them.
    """

    decisive: Mapping[str, tuple[frozenset[int], ...]]
    dependent: frozenset[int]
    no_emotion: frozenset[int]
    conflicts: tuple[frozenset[str], ...] = (frozenset({"Positive", "Negative"}),)
    max_emotions: int = 2
    fallback: str = "Others"
    order: tuple[str, ...] = field(default=LABEL_ORDER)
    static_counts: bool = True

    def __post_init__(self) -> None:
        # A read-only view, so nobody edits the shared FOURDME_RULES table in place.
        object.__setattr__(self, "decisive", MappingProxyType({e: tuple(map(frozenset, ps)) for e, ps in self.decisive.items()}))
        # Checked here so a wrong table fails at import, not as odd labels much later.
        known = set(self.order)
        for name in [*self.decisive, self.fallback, *(e for pair in self.conflicts for e in pair)]:
            if name not in known:
                raise DataError(f"EmotionRules names emotion {name!r}, which is not in order {self.order}")
        patterns = [(emotion, pattern) for emotion, ps in self.decisive.items() for pattern in ps]
        for emotion, pattern in patterns:
            if not pattern:
                raise DataError(f"EmotionRules: an empty decisive pattern for {emotion!r} would match every sample")
        for i, (e, p) in enumerate(patterns):
            for f, q in patterns[i + 1 :]:
                # Precedence (a combination over its parts) decides only between nested patterns.
                if e != f and p & q and not (p < q or q < p):
                    raise DataError(
                        f"EmotionRules: AU {sorted(p & q)} is in {_name(p)} for {e!r} and in {_name(q)} for {f!r}; neither "
                        "pattern contains the other, so the precedence rule (a combination over its parts) cannot decide"
                    )
        decisive = {au for _, p in patterns for au in p}
        singles = {au for _, p in patterns if len(p) == 1 for au in p}
        for name, aus in (
            ("dependent", self.dependent & singles),
            ("no-emotion", self.no_emotion & (decisive | self.dependent)),
        ):
            if aus:
                raise DataError(f"EmotionRules: AU {sorted(aus)} listed as {name} and also as decisive or dependent")
        if self.max_emotions < 1:
            raise DataError(f"EmotionRules.max_emotions must be at least 1, got {self.max_emotions}")

    @property
    def mapped(self) -> frozenset[int]:
        """Every AU number the table says something about."""
        decisive = {au for patterns in self.decisive.values() for p in patterns for au in p}
        return frozenset(decisive) | self.dependent | self.no_emotion


def _aus(*numbers_: int) -> frozenset[int]:
    return frozenset(numbers_)


def _name(pattern: frozenset[int]) -> str:
    return "AU" + "+".join(map(str, sorted(pattern)))


# The 4DME paper's Table 4 (Li et al., §4.1.2), exactly as printed; the rules are in the module docstring.
FOURDME_PAPER_RULES = EmotionRules(
    decisive={
        "Negative": (_aus(1), _aus(4), _aus(7), _aus(9), _aus(10)),
        "Positive": (_aus(12),),
        "Surprise": (_aus(2), _aus(1, 2)),  # AU1+2 takes precedence over Negative's AU1
        "Repression": (_aus(14), _aus(15), _aus(17), _aus(24)),
    },
    dependent=_aus(5, 6, 20, 25),  # Table 4's "Others (dependent)" row
    no_emotion=_aus(39, 43, 45, 56, 58, 63, 64),
    static_counts=True,  # rule 7
)
FOURDME_RULES = FOURDME_PAPER_RULES  # the default everywhere

# The table mer4d used before the paper was at hand (simulator versions <= 5), kept only for recipes that
# name it (label_rules: reconstruction). NOT the paper's; sources per entry:
#   [EMFACS] FACS emotion prototypes (Wikipedia FACS table, quoted in github machanic/AU_R-CNN issue #10):
#            happiness 6+12, surprise 1+2+5B+26, sadness 1+4+15, anger 4+5+7+23, disgust 9+15+16,
#            fear 1+2+4+5+7+20+26, contempt R12A+R14A.  (verified as quoted, not against the FACS manual)
#   [CASME2] CASME II emotion criteria (Yan et al. 2014), recalled, not re-read: repression = AU14/15/17/24.
#   [BRIEF]  the task brief's suggestion for this table.
FOURDME_RECONSTRUCTION_RULES = EmotionRules(
    decisive={
        # AU12 lip corner puller: the smile. [EMFACS happiness 6+12; BRIEF] AU6 alone is not enough (dependent).
        "Positive": (_aus(12),),
        # AU1+AU2 brows raised together [EMFACS surprise]; AU5 upper lid raiser [EMFACS surprise 5B; BRIEF].
        "Surprise": (_aus(1, 2), _aus(5)),
        # AU4 brow lowerer [EMFACS anger/sadness/fear], AU9 nose wrinkler + AU16 lower lip depressor
        # [EMFACS disgust], AU10 upper lip raiser [disgust, BRIEF], AU20 lip stretcher [EMFACS fear],
        # AU23 lip tightener [EMFACS anger].
        "Negative": (_aus(4), _aus(9), _aus(10), _aus(16), _aus(20), _aus(23)),
        # AU14 dimpler, AU15 lip corner depressor, AU17 chin raiser, AU24 lip pressor [CASME2 repression; BRIEF].
        "Repression": (_aus(14), _aus(15), _aus(17), _aus(24)),
    },
    # AU1/AU2 alone (sadness or surprise), AU6 cheek raiser and AU7 lid tightener (smiles and anger alike),
    # AU25/26/27 mouth opening (surprise, fear, speech). [EMFACS co-occurrence; BRIEF]
    dependent=_aus(1, 2, 6, 7, 25, 26, 27),
    # AU43 eyes closed, AU45 blink, AU46 wink; FACS head (51-58) and eye (61-64) movement codes.
    no_emotion=_aus(43, 45, 46, *range(51, 59), *range(61, 65)),
    static_counts=False,  # static (k) AUs were dropped
)

# Named tables a recipe may choose (the 4DME simulator's ``label_rules`` option).
FOURDME_RULE_TABLES: Mapping[str, EmotionRules] = MappingProxyType(
    {"paper": FOURDME_PAPER_RULES, "reconstruction": FOURDME_RECONSTRUCTION_RULES}
)


def fourdme_rules(name: str) -> EmotionRules:
    """The named 4DME rule table (``"paper"`` or ``"reconstruction"``); a clear error otherwise."""
    if isinstance(name, str) and name in FOURDME_RULE_TABLES:
        return FOURDME_RULE_TABLES[name]
    close = suggest(name, list(FOURDME_RULE_TABLES)) if isinstance(name, str) else []
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    raise DataError(
        f"unknown 4DME label rules {name!r}{hint}; expected one of {', '.join(map(repr, FOURDME_RULE_TABLES))} "
        "('paper': the 4DME paper's Table 4 and rules, the default; 'reconstruction': mer4d's earlier FACS-based table)"
    )


@dataclass(frozen=True)
class EmotionDecision:
    """The label a sample gets and why.

    Attributes:
        labels: the label set in ``rules.order`` (``("Surprise", "Positive")``), or ``(fallback,)``.
        rule: which rule decided: ``RULE_MATCHED``, ``RULE_NO_DECISIVE``, ``RULE_CONFLICT`` or ``RULE_TOO_MANY``.
        matched: emotions whose decisive AUs were present (after precedence), before rules 6 and 7.
        ignored_static: static ``(k)`` AUs that were left out (only when ``rules.static_counts`` is False).
        unmapped: AU numbers considered that the table does not know (treated as carrying no emotion).
        overruled: emotions whose only present patterns were parts of another emotion's present pattern
            (AU1+2: Negative's AU1 is overruled by Surprise's AU1+2).
    """

    labels: tuple[str, ...]
    rule: str
    matched: tuple[str, ...] = ()
    ignored_static: tuple[str, ...] = ()
    unmapped: tuple[int, ...] = ()
    overruled: tuple[str, ...] = ()


def _tokens(aus: Iterable[str | AUToken] | str) -> list[AUToken]:
    if isinstance(aus, str):  # a whole cell such as "AU4(k)+L7", not an iterable of characters
        aus = [aus]
    tokens: list[AUToken] = []
    for item in aus:
        tokens.extend([item] if isinstance(item, AUToken) else parse_aus(item, source=f"AU {item!r}"))
    return tokens


def explain_emotions(aus: Iterable[str | AUToken] | str, rules: EmotionRules = FOURDME_RULES) -> EmotionDecision:
    """Apply ``rules`` to one sample's AUs and say which rule decided (see the module docstring).

    Args:
        aus: AUTokens, single-AU strings, or one whole AU cell (``"AU4(k)+L7"``).
        rules: the table and rules; defaults to :data:`FOURDME_RULES` (the paper's).
    """
    tokens = _tokens(aus)
    considered = {t.number for t in tokens if rules.static_counts or not t.static}
    static = () if rules.static_counts else tuple(str(t) for t in tokens if t.static)
    unmapped = tuple(sorted(considered - rules.mapped))
    present = [(e, p) for e, ps in rules.decisive.items() for p in ps if p <= considered]
    # Precedence: a pattern that is a proper part of a present pattern of another emotion does not count.
    counted = {e for e, p in present if not any(f != e and p < q for f, q in present)}
    matched = tuple(e for e in rules.order if e in counted)
    overruled = tuple(e for e in rules.order if e not in counted and any(f == e for f, _ in present))
    other = (rules.fallback,)
    if not matched:
        return EmotionDecision(other, RULE_NO_DECISIVE, matched, static, unmapped, overruled)
    if any(pair <= set(matched) for pair in rules.conflicts):
        return EmotionDecision(other, RULE_CONFLICT, matched, static, unmapped, overruled)
    if len(matched) > rules.max_emotions:
        return EmotionDecision(other, RULE_TOO_MANY, matched, static, unmapped, overruled)
    return EmotionDecision(matched, RULE_MATCHED, matched, static, unmapped, overruled)


def emotions_from_aus(aus: Iterable[str | AUToken] | str, rules: EmotionRules = FOURDME_RULES) -> tuple[str, ...]:
    """The emotion label set for one sample's AUs, in ``rules.order``.

    Example:
        >>> emotions_from_aus(["AU1", "AU2", "L12"])
        ('Surprise', 'Positive')
        >>> emotions_from_aus("AU1+2+5+12(k)")  # the paper's Fig. 6: static AU12 counts (rule 7)
        ('Surprise', 'Positive')
        >>> emotions_from_aus("AU6+AU25")  # only dependent AUs
        ('Others',)
    """
    return explain_emotions(aus, rules).labels


def _lookup(rules: EmotionRules) -> dict[str, str]:
    table = {name.lower(): name for name in rules.order}
    if rules.fallback == "Others":
        table.setdefault("other", "Others")  # SAMM's singular spelling
    return table


def _canonical(labels: Iterable[str], rules: EmotionRules, where: str, text: object) -> tuple[str, ...]:
    lookup = _lookup(rules)
    found, unknown = set(), []
    for label in labels:
        name = lookup.get(label.strip().lower())
        if name is None:
            unknown.append(label.strip())
        else:
            found.add(name)
    if unknown:
        hints = [
            f"{u!r} (did you mean {' or '.join(map(repr, close))}?)" if (close := suggest(u, rules.order)) else repr(u)
            for u in unknown
        ]
        raise DataError(
            f"{where}: unknown emotion label {', '.join(hints)} in {text!r}; "
            f"expected {', '.join(rules.order)}, joined with '+' (e.g. 'Surprise+Positive')"
        )
    if not found:
        raise DataError(f"{where}: empty emotion label {text!r}; expected one of {', '.join(rules.order)}")
    return tuple(e for e in rules.order if e in found)


def parse_emotions(text: object, source: str = "", *, rules: EmotionRules = FOURDME_RULES) -> tuple[str, ...]:
    """Parse an emotion cell such as ``"Surprise+Positive"`` (case-insensitive) into a label set.

    Args:
        text: the cell text. Empty cells are an error: every micro-expression has an emotion.
        source: where the cell came from, used in messages (``"labels.xlsx row 14"``).
        rules: supplies the vocabulary and the order of the result.

    Returns:
        The labels in ``rules.order``, without duplicates.

    Raises:
        DataError: the cell is empty, not text, or names an unknown label.
    """
    where = source or "emotion text"
    if text is None or (isinstance(text, numbers.Real) and not isinstance(text, bool) and math.isnan(text)):
        raise DataError(f"{where}: the emotion cell is empty; expected one of {', '.join(rules.order)}")
    if not isinstance(text, str):
        raise DataError(f"{where}: emotion cell holds {text!r}; expected text such as 'Surprise+Positive'")
    return _canonical([p for p in text.split("+") if p.strip()], rules, where, text)


def format_emotions(labels: Iterable[str], *, rules: EmotionRules = FOURDME_RULES) -> str:
    """Join a label set in ``rules.order``: ``format_emotions(["Positive", "Surprise"]) == "Surprise+Positive"``."""
    labels = list(labels)
    return "+".join(_canonical(labels, rules, "format_emotions()", "+".join(labels)))
