"""A dataset's own emotions -> the classes of the recipe's label scheme (``dataset.labels``)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.spec import DatasetSpec, LabelScheme


def apply_scheme(index: pd.DataFrame, spec: DatasetSpec, name: str | None) -> tuple[pd.DataFrame, LabelScheme, str]:
    """The Index relabelled by scheme ``name`` (the spec's default when None), and a note.

    ``emotion`` (and ``emotions`` for multi-label schemes) then hold scheme classes; the
    dataset's own label stays in ``emotion_own``. Clips whose emotion the scheme omits (mapped to
    None, e.g. ``others`` in MEGC2019) leave the Index, and the note counts them per emotion.

    Raises:
        DataError: an emotion of the Index that the scheme does not map (naming it and the scheme).
    """
    scheme = spec.scheme(name)
    scheme_name = name or spec.default_scheme
    own = index["emotions"] if scheme.multilabel else index["emotion"].map(lambda e: [e])
    unknown = sorted({e for labels in own for e in labels} - set(scheme.mapping))
    if unknown:
        raise DataError(f"{spec.name}: label scheme {scheme_name!r} does not map emotion(s) {unknown} found in the Index; "
                        f"it maps {sorted(scheme.mapping)}. Fix the label file, or choose another dataset.labels")
    mapped = [[scheme.mapping[e] for e in labels if scheme.mapping[e] is not None] for labels in own]
    keep = [bool(m) for m in mapped]
    dropped = Counter(e for labels, k in zip(own, keep, strict=True) if not k for e in labels)
    out = index.assign(emotion_own=index["emotion"])
    if scheme.multilabel:
        out = out.assign(emotions=[sorted(set(m), key=scheme.classes.index) for m in mapped])
        out = out.assign(emotion=["+".join(m) for m in out["emotions"]])
    else:
        out = out.assign(emotion=[m[0] if m else None for m in mapped])
    out = out[keep].reset_index(drop=True)
    out.attrs = dict(index.attrs)
    note = f"labels: scheme {scheme_name!r} ({len(scheme.classes)} classes)"
    if dropped:
        note += f", {sum(not k for k in keep)} clip(s) omitted by the scheme ({', '.join(f'{e} {n}' for e, n in sorted(dropped.items()))})"
    if out.empty:
        raise DataError(f"{spec.name}: label scheme {scheme_name!r} omits every clip ({dict(dropped)}); choose another dataset.labels")
    return out, scheme, note
