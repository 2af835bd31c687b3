"""CAS(ME)^3 label schemes (the spec is in :mod:`casme3`)."""

from __future__ import annotations

from mer4d.data.spec import LabelScheme

# ---------------------------------------------------------------- label schemes


def schemes(emotions) -> dict[str, LabelScheme]:
    seven_classes = emotions["A"]
    pooled = ("negative", "positive", "surprise", "others")
    # own: both sheets' labels (Part A's seven, Part C's pooled four); on one part the other's
    # classes are empty, so 'seven' (Part A) or 'four' (either part) is the usual choice.
    own = LabelScheme.identity(seven_classes + ("negative", "positive"), "Li et al. 2022 (CAS(ME)^3, TPAMI): the Part A sheet's 'emotion' "
                               "classes and the Part C sheet's pooled ones, lower-cased (datasets.md §5)")
    to_four = {"happy": "positive", "disgust": "negative", "fear": "negative", "anger": "negative", "sad": "negative",
               "surprise": "surprise", "others": "others", "negative": "negative", "positive": "positive"}
    # Part C's pooled labels cannot be split into the seven classes
    seven = LabelScheme(seven_classes, {**{c: c for c in seven_classes}, "negative": None, "positive": None},
                        "Li et al. 2022 (CAS(ME)^3, TPAMI), 7-class Part A recognition: happy, disgust, fear, anger, surprise, sad, others "
                        "(Part C's pooled negative/positive omitted)")
    four = LabelScheme(pooled, to_four, "Li et al. 2022 (CAS(ME)^3, TPAMI), 4-class recognition: positive = happy, negative = disgust, "
                       "fear, anger, sad, surprise, others; Part C's sheet is labelled in these four classes")
    three = LabelScheme(("negative", "positive", "surprise"), {**to_four, "others": None},
                        "Li et al. 2022 (CAS(ME)^3, TPAMI), 3-class recognition: the 4-class mapping without others (as MoExt Table 5)")
    # MEGC2019 guideline (datasets.md §9): negative = repression, anger, contempt, disgust, fear,
    # sadness; positive = happiness; surprise = surprise; others omitted. CAS(ME)^3 is not in the
    # MEGC2019 composite; its 'sad'/'happy' are the guideline's sadness/happiness.
    megc = LabelScheme(("negative", "positive", "surprise"), {**to_four, "others": None},
                       "MEGC2019 recognition challenge guideline class mapping (datasets.md §9), applied to CAS(ME)^3's labels; others omitted")
    return {"own": own, "seven": seven, "four": four, "three": three, "megc2019": megc}
