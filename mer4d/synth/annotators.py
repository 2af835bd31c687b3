"""Simulated annotators: noisy copies of a simulated dataset's planted labels, for agreement analyses.

Each of ``raters`` annotators labels every clip independently: with probability ``1 - disagreement``
the planted label, otherwise one of the other categories drawn uniformly. Under this model the
expected Fleiss' kappa follows from the disagreement rate p, the number of categories k and the
planted label shares pi_j (see :func:`expected_kappa`): two raters agree on a clip with probability
``P_o = (1 - p)^2 + p^2 / (k - 1)``, a rating falls in category j with probability
``q_j = pi_j (1 - p) + (1 - pi_j) p / (k - 1)``, chance agreement is ``P_e = sum_j q_j^2``, and
``kappa = (P_o - P_e) / (1 - P_e)``.

The file (``annotators.csv`` in the dataset root, read by ``mer4d analyze agreement``) has one row per
clip: ``clip_id``, then one column per annotator (``rater_1`` ... ``rater_N``) holding that annotator's
label in the dataset's own spelling. The planted label is not in the file (it is the label sheet's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError

ANNOTATORS_FILE = "annotators.csv"
_SALT = 0xA770  # the annotators' random stream, independent of the writer's own draws


def check_annotator_options(raters: object, disagreement: object) -> tuple[int, float]:
    """``(raters, disagreement)`` validated: a whole number >= 2 and a rate in [0, 1)."""
    if isinstance(raters, bool) or not isinstance(raters, int | np.integer) or raters < 2:
        raise DataError(f"simulator option annotators: expected a whole number of annotators >= 2 (e.g. --param annotators=5), got {raters!r}")
    if isinstance(disagreement, bool) or not isinstance(disagreement, int | float) or not 0.0 <= float(disagreement) < 1.0:
        raise DataError(f"simulator option disagreement: expected the share of labels an annotator changes, in [0, 1) "
                        f"(e.g. --param disagreement=0.2), got {disagreement!r}")
    return int(raters), float(disagreement)


def simulate_annotators(labels: Sequence[str], categories: Sequence[str], raters: int, disagreement: float,
                        rng: np.random.Generator) -> np.ndarray:
    """(N, raters) labels: each the planted label, or with probability ``disagreement`` another category.

    Args:
        labels: the N planted labels; each must be one of ``categories``.
        categories: the k >= 2 labels an annotator may choose among.
    """
    raters, disagreement = check_annotator_options(raters, disagreement)
    cats = list(dict.fromkeys(str(c) for c in categories))
    if len(cats) < 2:
        raise DataError(f"simulated annotators need at least 2 categories to disagree over, got {cats}")
    position = {c: j for j, c in enumerate(cats)}
    stray = sorted({str(x) for x in labels} - set(position))
    if stray:
        raise DataError(f"simulated annotators: planted label(s) {stray} are not among the categories {cats}")
    truth = np.array([position[str(x)] for x in labels], dtype=np.int64)
    change = rng.random((len(truth), raters)) < disagreement
    # another category, uniformly: shift the planted one by 1..k-1 (mod k)
    shift = rng.integers(1, len(cats), size=(len(truth), raters))
    codes = np.where(change, (truth[:, None] + shift) % len(cats), truth[:, None])
    return np.asarray(cats, dtype=object)[codes]


def expected_kappa(shares: Sequence[float], disagreement: float) -> float:
    """The Fleiss' kappa the annotator model gives for planted label shares ``shares`` (k of them, summing to 1).

    This is the ratio of the expectations of ``P_bar`` and ``P_e`` (module docstring); a finite
    sample's kappa scatters around it by O(1/sqrt(N)).
    """
    pi = np.asarray(shares, dtype=np.float64)
    k, p = len(pi), float(disagreement)
    if k < 2 or abs(pi.sum() - 1.0) > 1e-9 or (pi < 0).any():
        raise DataError(f"expected_kappa: expected k >= 2 label shares summing to 1, got {pi.tolist()}")
    p_o = (1.0 - p) ** 2 + p**2 / (k - 1)
    q = pi * (1.0 - p) + (1.0 - pi) * p / (k - 1)
    p_e = float((q**2).sum())
    return (p_o - p_e) / (1.0 - p_e)


def annotator_table(clip_ids: Sequence[str], ratings: np.ndarray) -> pd.DataFrame:
    """The ``annotators.csv`` table: ``clip_id``, ``rater_1`` .. ``rater_N``."""
    columns = {f"rater_{r + 1}": ratings[:, r] for r in range(ratings.shape[1])}
    return pd.DataFrame({"clip_id": list(clip_ids), **columns})


def write_annotators(root: Path, kind: str, raters: int, disagreement: float, seed: int, writer_options: dict | None = None) -> Path:
    """Read back the dataset just written at ``root`` with its own scan and write ``root/annotators.csv``.

    ``writer_options`` are the options the layout was written with; those the scan also takes
    (SMIC's ``camera``, CAS(ME)^3's ``part``) are passed on, so the scan reads what was written.
    The categories are the dataset's own label vocabulary (its ``own`` scheme); for a multi-label
    dataset (4DME) they are the label combinations the sheet uses (``Surprise+Positive`` is one).
    """
    import inspect

    import mer4d.data.datasets  # noqa: F401  (registers the specs)
    from mer4d.data.spec import DATASETS

    raters, disagreement = check_annotator_options(raters, disagreement)
    spec = DATASETS.get(kind)
    accepted = set(inspect.signature(spec.scan).parameters) - {"root", "seed"}
    options = {k: v for k, v in (writer_options or {}).items() if k in accepted}
    try:
        index, _ = spec.run_scan(Path(root), seed, **options)
    except DataError as exc:
        raise DataError(f"simulated annotators: the {kind} dataset just written at {root} could not be read back ({exc})") from None
    scheme = spec.scheme("own")
    labels = index["emotion"].astype(str).tolist()
    # single-label: every class of the vocabulary (an absent one can still be chosen by mistake), plus any
    # label the scan keeps outside it (SMIC-E's non_micro); multi-label: the combinations in use
    categories = sorted(set(labels)) if scheme.multilabel else [*scheme.classes, *sorted(set(labels) - set(scheme.classes))]
    if len(categories) < 2:
        categories = [*categories, *(c for c in scheme.classes if c not in categories)]
    ratings = simulate_annotators(labels, categories, raters, disagreement, np.random.default_rng([seed, _SALT]))
    path = Path(root) / ANNOTATORS_FILE
    annotator_table(index["clip_id"].astype(str).tolist(), ratings).to_csv(path, index=False)
    return path
