"""``mer4d analyze labels``: the AU tables, AU combinations and 4DME-rule consistency of one dataset, as
markdown for the terminal and as CSV + PNG artifacts of one run in the ``analysis`` experiment."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mer4d.analysis.label_stats import ALL, VIEWS, au_share_table, frequent_aus, top_combinations
from mer4d.analysis.logging import AnalysisRecord
from mer4d.analysis.rule_consistency import DIFFERENT, NOT_COMPARED, PARTIAL, SAME, Consistency, rule_consistency
from mer4d.analysis.source import LabelSource
from mer4d.core.markdown import markdown_rows

SHOWN_AUS = 8  # most frequent AUs per emotion in the terminal's AU table (the CSV holds all)
SHOWN_REASONS = 12  # disagreement groups in the terminal (the CSV holds every clip)


@dataclass(frozen=True)
class LabelAnalysis:
    source: LabelSource
    shares: dict[str, pd.DataFrame]  # view -> emotions x AUs (au_share_table)
    combinations: pd.DataFrame  # every view, with a 'view' column
    consistency: Consistency
    top: int

    @property
    def has_aus(self) -> bool:
        return len(self.shares["merged"].columns) > 1  # n_clips plus at least one AU


def analyze_labels(source: LabelSource, top: int = 5) -> LabelAnalysis:
    index = source.index
    if "aus" not in index.columns:  # a scan that records no AUs at all: the same as a dataset coding none
        index = index.assign(aus=[[] for _ in range(len(index))])
    shares = {view: au_share_table(index, view) for view in VIEWS}
    combinations = pd.concat([top_combinations(index, view, top).assign(view=view) for view in VIEWS], ignore_index=True)
    return LabelAnalysis(source, shares, combinations, rule_consistency(index, source.multilabel), top)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _au_section(analysis: LabelAnalysis, view: str, title: str) -> list[str]:
    table = analysis.shares[view]
    rows = []
    for emotion in table.index:
        ranked = frequent_aus(table, emotion, top=SHOWN_AUS)
        rows.append([emotion, str(int(table.loc[emotion, "n_clips"])), ", ".join(f"{c} {_pct(v)}" for c, v in ranked) or "(no AU)"])
    return [f"### {title}", "", markdown_rows(["emotion", "clips", f"AUs by share of the emotion's clips (top {SHOWN_AUS}; au_share_{view}.csv has all)"], rows), ""]


def labels_markdown(analysis: LabelAnalysis) -> str:
    source, c = analysis.source, analysis.consistency
    n, subjects = len(source.index), source.index["subject"].nunique()
    out = [f"## AU labels of {source.spec.name}: {n} clips, {subjects} subjects", "", f"Data: {source.origin}."]
    out += [f"Note: {note}." for note in source.notes]
    out.append("")
    if not analysis.has_aus:
        out += [f"_The Index of {source.spec.name} holds no AU codes (the dataset codes none), so there is no AU table and no comparison with "
                "the 4DME AU -> emotion rules._"]
        return "\n".join(out)
    out += _au_section(analysis, "merged", "AU occurrence per emotion, sides merged (L12, R12 -> AU12)")
    out += _au_section(analysis, "sided", "AU occurrence per emotion, sides kept (AU12, L12, R12 apart)")
    combos = analysis.combinations[analysis.combinations["view"] == "merged"]
    rows = [[e, "; ".join(f"{r.combination} {_pct(r.share)} ({r.clips})" for r in part.itertuples())] for e, part in combos.groupby("emotion", sort=False)]
    out += [f"### Most frequent AU combinations per emotion (the clip's whole AU set, sides merged; top {analysis.top})", "",
            markdown_rows(["emotion", "combinations (share of the emotion's clips, clips)"], rows), ""]
    counts = c.counts().set_index("verdict")
    compared = int(counts["clips"].drop(NOT_COMPARED).sum())
    out += ["### Consistency with the 4DME AU -> emotion rules (4DME paper, Table 4 and its rules)", ""]
    if source.spec.name != "4dme" or not source.multilabel:
        mapping = ", ".join(f"{e} -> {m}" for e, m in c.mapping.items())
        out += [f"The dataset's emotions in the 4DME classes: {mapping}.", ""]
    out += [f"Of {compared} compared clips the rules give **the same label to {int(counts.loc[SAME, 'clips'])} ({_pct(counts.loc[SAME, 'share'])})**, "
            f"an overlapping one to {int(counts.loc[PARTIAL, 'clips'])} ({_pct(counts.loc[PARTIAL, 'share'])}) and a different one to "
            f"{int(counts.loc[DIFFERENT, 'clips'])} ({_pct(counts.loc[DIFFERENT, 'share'])})"
            + (f"; {int(counts.loc[NOT_COMPARED, 'clips'])} clip(s) have an emotion with no 4DME class and are not compared." if counts.loc[NOT_COMPARED, "clips"] else "."), ""]
    decided = c.clips["rule"].value_counts()
    out += ["The rules decided by: " + ", ".join(f"{rule} {n}" for rule, n in decided.items()) + " (clips).", ""]
    cross = c.crosstab()
    if not cross.empty:
        out += ["Dataset label (rows) x the rules' label (columns), clips:", "",
                markdown_rows(["dataset \\ rules", *map(str, cross.columns)], [[str(r), *(str(int(v)) for v in cross.loc[r])] for r in cross.index]), ""]
    reasons = c.reasons(SHOWN_REASONS)
    if not reasons.empty:
        out += [f"Why they disagree (the {min(SHOWN_REASONS, len(c.reasons()))} largest groups; rule_consistency.csv has every clip):", "",
                markdown_rows(["dataset label", "rules' label", "verdict", "the rules' reason", "clips"],
                              [[r.emotion, r.rules, r.verdict, r.reason, str(r.clips)] for r in reasons.itertuples()]), ""]
    return "\n".join(out).rstrip()


def labels_record(analysis: LabelAnalysis, markdown: str) -> AnalysisRecord:
    """The run: params, headline metrics, the CSV tables and the heatmaps."""
    from mer4d.analysis.figures import heatmap

    source, c = analysis.source, analysis.consistency
    counts = c.counts().set_index("verdict")
    compared = int(counts["clips"].drop(NOT_COMPARED).sum()) if analysis.has_aus else 0  # no AU codes: nothing to compare
    record = AnalysisRecord(
        kind="labels", name=f"labels {source.spec.name}",
        params={"dataset": source.spec.name, "source": "simulator" if source.simulated else "root", "origin": source.origin,
                "kind": ",".join(sorted(source.index["kind"].astype(str).unique())), "labels": source.scheme or "own (as the Index holds them)",
                "rules": "4DME paper Table 4", "top_combinations": str(analysis.top),
                "emotion_to_4dme": "; ".join(f"{e}->{m}" for e, m in c.mapping.items())},
        metrics={"n_clips": len(source.index), "n_subjects": source.index["subject"].nunique(), "rules_compared": compared,
                 **{f"rules_{v}": float(counts.loc[k, "share"]) for k, v in ((SAME, "same"), (PARTIAL, "partial"), (DIFFERENT, "different"))
                    if compared}},
        tags={"mer4d.dataset": source.origin, "mer4d.analysis_dataset": source.spec.name},
        report=markdown,
    )
    for view, table in analysis.shares.items():
        record.tables[f"au_share_{view}.csv"] = table
    record.tables["au_combinations.csv"] = analysis.combinations
    if not analysis.has_aus:
        return record
    record.tables["rule_consistency.csv"] = c.clips
    record.tables["rule_verdicts.csv"] = c.counts()
    record.tables["rule_disagreements.csv"] = c.reasons()
    cross = c.crosstab()
    if not cross.empty:
        record.tables["rule_crosstab.csv"] = cross
        record.figures["rule_crosstab.png"] = heatmap(cross, f"{source.spec.name}: dataset label x 4DME rules' label", "clips", fmt="{:d}", cmap="Blues")
    for view in ("merged", "sided"):
        full = analysis.shares[view]
        shares = full.drop(index=ALL).drop(columns="n_clips")
        shares.index = [f"{e} ({int(full.loc[e, 'n_clips'])})" for e in shares.index]
        shares = shares.rename_axis(index="emotion (clips)", columns="AU")
        record.figures[f"au_share_{view}.png"] = heatmap(shares, f"{source.spec.name}: share of each emotion's clips with the AU "
                                                         f"({'sides merged' if view == 'merged' else 'sides kept'})", "share of clips", vmax=1.0)
    return record
