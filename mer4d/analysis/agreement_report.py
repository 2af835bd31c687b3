"""``mer4d analyze agreement FILE``: Fleiss' kappa (Cohen's for two raters) of a raters' CSV, per category too."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from mer4d.analysis.logging import AnalysisRecord
from mer4d.analysis.raters import RaterTable
from mer4d.core.markdown import markdown_rows
from mer4d.metrics.agreement import category_counts, cohen_kappa, fleiss_kappa, fleiss_kappa_per_category, interpret_kappa


@dataclass(frozen=True)
class Agreement:
    raters: RaterTable
    fleiss: float
    cohen: float | None  # two raters only
    per_category: pd.DataFrame  # category, ratings, share, kappa (Fleiss' kappa_j)
    pairwise: pd.DataFrame  # rater x rater Cohen's kappa
    unanimous: float  # share of items every rater put in the same category

    @property
    def headline(self) -> tuple[str, float]:
        return ("Cohen's kappa", self.cohen) if self.cohen is not None else ("Fleiss' kappa", self.fleiss)


def agreement(table: RaterTable) -> Agreement:
    counts, categories = category_counts(table.labels)
    m = table.labels.shape[1]
    share = counts.sum(axis=0) / counts.sum()
    per_category = pd.DataFrame({"category": categories, "ratings": counts.sum(axis=0), "share": share,
                                 "kappa": fleiss_kappa_per_category(counts)})
    names = list(table.raters)
    pairwise = pd.DataFrame(np.eye(m), index=pd.Index(names, name="rater"), columns=names)
    for a, b in combinations(range(m), 2):
        try:
            value = cohen_kappa(table.labels[:, a], table.labels[:, b])
        except ValueError:  # both raters used one and the same category: undefined for this pair
            value = float("nan")
        pairwise.iat[a, b] = pairwise.iat[b, a] = value
    cohen = float(pairwise.iat[0, 1]) if m == 2 else None
    return Agreement(table, fleiss_kappa(counts), cohen, per_category, pairwise, float((counts.max(axis=1) == m).mean()))


def agreement_markdown(result: Agreement) -> str:
    t = result.raters
    name, value = result.headline
    lines = [f"## Annotation agreement: {t.path.name}", "",
             f"{len(t.items)} items, {len(t.raters)} raters ({', '.join(t.raters)}), {len(result.per_category)} categories; "
             f"{100 * result.unanimous:.1f}% of the items rated alike by every rater.", "",
             f"**{name} = {value:.4f}** ({interpret_kappa(value)} agreement, Landis & Koch 1977 as in the DFME paper's Table V)."]
    if result.cohen is not None:
        lines.append(f"Fleiss' kappa of the same two raters = {result.fleiss:.4f} (Scott's pi: chance from the pooled label shares).")
    else:
        off = result.pairwise.to_numpy()[~np.eye(len(t.raters), dtype=bool)]
        lines.append(f"Mean pairwise Cohen's kappa = {np.nanmean(off):.4f} (pairwise_cohen.csv holds every pair).")
    rows = [[str(row.category), str(row.ratings), f"{100 * row.share:.1f}%", "undefined" if not np.isfinite(row.kappa) else f"{row.kappa:.4f}"]
            for row in result.per_category.itertuples()]
    lines += ["", markdown_rows(["category", "ratings", "share", "kappa (this category vs the rest)"], rows)]
    return "\n".join(lines)


def agreement_record(result: Agreement, markdown: str) -> AnalysisRecord:
    t = result.raters
    metrics = {"fleiss_kappa": result.fleiss, "n_items": len(t.items), "n_raters": len(t.raters), "n_categories": len(result.per_category),
               "unanimous_share": result.unanimous}
    if result.cohen is not None:
        metrics["cohen_kappa"] = result.cohen
    return AnalysisRecord(
        kind="agreement", name=f"agreement {t.path.name}",
        params={"file": str(t.path.resolve()), "raters": ",".join(t.raters)[:6000], "categories": ",".join(result.per_category["category"])[:6000],
                "headline": result.headline[0], "interpretation": interpret_kappa(result.headline[1])},
        metrics=metrics,
        tables={"per_category.csv": result.per_category, "pairwise_cohen.csv": result.pairwise},
        files={f"input_{t.path.name}": t.path},
        report=markdown,
    )
