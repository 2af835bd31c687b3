"""Results tables read back from the MLflow store (README's table is generated from here)."""

from __future__ import annotations

import pandas as pd

from mer4d.core.markdown import markdown_rows
from mer4d.tracking.store import tracking_uri
from mer4d.tracking.store_reader import finished_runs

COLUMNS = {"acc": "ACC", "uf1": "UF1", "uar": "UAR", "fold_mean_uf1": "UF1 (fold mean)", "macro_f1": "macro F1", "macro_acc": "macro acc"}


def short_data(description: str) -> str:
    """The dataset description up to its first ':' or ';' and without cache paths, for a table cell."""
    head = description.split(":")[0].split(";")[0]
    return head.split(" cached at ")[0].strip()


def latest_runs(uri: str | None = None, experiments: list[str] | None = None, per_class: bool = False, params: tuple[str, ...] = (), metrics: tuple[str, ...] = (),
                tags: tuple[str, ...] = ()) -> pd.DataFrame:
    """The newest FINISHED parent run of each (experiment, recipe, profile, variant), one row each.

    ``variant`` is the run's method-changing ``--set`` overrides (e.g. ``model.params.views=[1]``
    for a single-view CCDN), so per-view and multi-view runs of one recipe sit side by side.
    ``per_class`` adds every per-class F1 and accuracy (the 4DME paper's Tables 6-8 layout);
    ``params`` adds those logged recipe parameters (``train.resample``, ...) as columns, and
    ``metrics`` those metrics under their logged names (``fold_mean_acc``, ...), ``tags`` those
    run tags (``mer4d.pretrain_variant``, ...). Pre-training runs (``mer4d pretrain``) have no
    test scores and are left out.
    """
    wanted_tags = tags
    rows = []
    for run in finished_runs(tracking_uri(uri), experiments):
        tags = run.tags
        if "mlflow.parentRunId" in tags or "mer4d.recipe" not in tags or tags.get("mer4d.stage") == "pretrain":
            continue
        rows.append({
            "_repeats": "mer4d.repeats" in tags,  # dropped below: a repeats run wins over single runs of its group
            "experiment": run.experiment,
            "recipe": tags["mer4d.recipe"],
            "profile": tags.get("mer4d.profile", ""),
            "variant": tags.get("mer4d.variant", ""),
            # a clip-level protocol's scores are optimistic: say so wherever the row is shown
            "data": short_data(tags.get("mer4d.dataset", "")) + (" [subject-overlapping folds]" if tags.get("mer4d.subject_overlap") == "true" else ""),
            "run": run.run_id,
            **{label: run.metrics.get(key) for key, label in COLUMNS.items()},
            **({"task": run.params.get("dataset.task", "")} if per_class else {}),
            **({k: v for k, v in sorted(run.metrics.items()) if k.startswith(("f1_", "acc_"))} if per_class else {}),
            **({"dataset": run.params.get("dataset.name", "")} if per_class else {}),
            **({k: v for k, v in sorted(run.metrics.items()) if "/" in k and not k.startswith("system/")} if per_class else {}),  # per-view scores, not the machine's load
            **{name: run.params.get(name, "") for name in params},
            **{name: run.metrics.get(name) for name in metrics},
            **{name: tags.get(name, "") for name in wanted_tags},
        })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # newest first, but a repeats run (several seeds) before any single run of the same group
    table = table.sort_values("_repeats", ascending=False, kind="stable")
    table = table.drop_duplicates(["experiment", "recipe", "profile", "variant"]).sort_index().drop(columns="_repeats")
    return table.reset_index(drop=True)


EVIDENCE_KEYS = ("acc", "uf1", "uar", "macro_f1", "macro_acc")
CEILINGS = ("ceiling_views_macro_f1", "ceiling_motion_macro_f1", "ceiling_label_macro_f1")  # mer4d.train.ceilings, tightest first
EVIDENCE_METRICS = ("n_seeds", *(f"{k}_{part}" for k in EVIDENCE_KEYS for part in ("sd", "ci_low", "ci_high")), *CEILINGS)
CONTROL = "control=shuffled"  # the variant token of a shuffled-label control run
"""Pass as ``latest_runs(metrics=EVIDENCE_METRICS)`` for :func:`evidence_table`."""
CI_COLUMNS = {"uf1": "UF1 95% CI", "macro_f1": "macro F1 95% CI"}


def seeds_cell(value, sd, n_seeds) -> str | float:
    """``0.412 ± 0.031 (3 seeds)`` for a repeats run, ``0.398 (1 seed)`` for a single one; NaN when no value."""
    if value is None or pd.isna(value):
        return float("nan")
    n = 1 if n_seeds is None or pd.isna(n_seeds) else int(n_seeds)
    if n > 1 and sd is not None and pd.notna(sd):
        return f"{value:.3f} ± {sd:.3f} ({n} seeds)"
    return f"{value:.3f} ({n} seed{'s' if n > 1 else ''})"


def interval_cell(low, high) -> str | float:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return float("nan")
    return f"[{low:.2f}, {high:.2f}]"


def evidence_table(runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`latest_runs` (with ``metrics=EVIDENCE_METRICS``) for display: ACC / UF1 / UAR / macro F1 /
    macro acc as ``mean ± sd (n seeds)`` (``value (1 seed)`` for a single run), the headline's 95 %
    subject-bootstrap interval as a column ``UF1 95% CI`` / ``macro F1 95% CI`` after it, and the raw
    evidence metric columns removed. Runs logged before intervals existed show an empty interval."""
    if runs.empty:
        return runs
    out = bracketed(runs)
    n_seeds = out["n_seeds"] if "n_seeds" in out else pd.Series([None] * len(out), index=out.index)
    for key in EVIDENCE_KEYS:
        label = COLUMNS[key]
        if label not in out:
            continue
        sd = out[f"{key}_sd"] if f"{key}_sd" in out else pd.Series([None] * len(out), index=out.index)
        cells = [seeds_cell(v, s, n) for v, s, n in zip(out[label], sd, n_seeds, strict=True)]
        out[label] = pd.Series(cells, index=out.index, dtype=object)
        if key in CI_COLUMNS and f"{key}_ci_low" in out:
            ci = [interval_cell(lo, hi) for lo, hi in zip(out[f"{key}_ci_low"], out[f"{key}_ci_high"], strict=True)]
            out.insert(out.columns.get_loc(label) + 1, CI_COLUMNS[key], pd.Series(ci, index=out.index, dtype=object))
    return out.drop(columns=[c for c in EVIDENCE_METRICS if c in out])


def _headline(row: pd.Series) -> str:
    return "UF1" if "UF1" in row and pd.notna(row["UF1"]) else "macro F1"


def bracketed(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each method between its control and its ceiling: a ``shuffled control`` column (the
    headline of the same recipe, profile and variant run with ``--control shuffled``) and a ``ceiling``
    column (the tightest ceiling the run logged: what its views can see, else its motion, else its labels)."""
    out = runs.copy()
    present = [c for c in CEILINGS if c in out]
    out["ceiling"] = out[present].bfill(axis=1).iloc[:, 0] if present else float("nan")
    out["shuffled control"] = float("nan")
    if not {"experiment", "recipe", "profile", "variant"} <= set(out.columns):  # not a latest_runs table: nothing to pair
        return out

    def group(row) -> tuple:
        return row["experiment"], row["recipe"], row["profile"], " ".join(t for t in row["variant"].split() if t != CONTROL)

    is_control = out["variant"].map(lambda v: CONTROL in v.split())
    controls = {group(row): row for _, row in out[is_control].iterrows()}
    cells = []
    for _, row in out.iterrows():
        control = None if CONTROL in row["variant"].split() else controls.get(group(row))
        if control is None:
            cells.append(float("nan"))
            continue
        key = "uf1" if _headline(control) == "UF1" else "macro_f1"
        cells.append(seeds_cell(control[_headline(control)], control.get(f"{key}_sd"), control.get("n_seeds")))
    out["shuffled control"] = pd.Series(cells, index=out.index, dtype=object)
    return out


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table; empty metric columns are left out."""
    if table.empty:
        return "_No finished runs in the store yet: run a recipe first._"
    shown = table.dropna(axis=1, how="all")
    body = []
    for _, row in shown.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) and pd.notna(v) else ("" if pd.isna(v) else str(v)) for v in row]
        body.append([c[:8] if col == "run" else c for c, col in zip(cells, shown.columns, strict=True)])
    return markdown_rows(list(shown.columns), body)


PAPER_TABLES = {
    "au": "Table 5 (4DME layout): AU detection, F1 / accuracy per AU",
    "emotion_multilabel": "Table 6 (4DME layout): multi-label emotion recognition, F1 / accuracy per class",
}


def paper_table(runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Methods x classes of one task, each cell "F1 / accuracy", plus the class average.

    ``runs`` is :func:`latest_runs` with ``per_class=True``. A method is a recipe and its --set
    variant; rows are ordered by average F1 (best first), classes by name as logged.
    """
    chosen = runs[runs["task"] == task] if not runs.empty else runs
    if chosen.empty:
        return pd.DataFrame()
    classes = sorted({c[3:] for c in chosen.columns if c.startswith("f1_") and chosen[c].notna().any()}, key=_class_order)
    rows = []
    for _, run in chosen.iterrows():
        method = run["recipe"] + (f" [{run['variant']}]" if run["variant"] else "") + (f" ({run['profile']})" if run["profile"] else "")
        cells = {c: _pair(run.get(f"f1_{c}"), run.get(f"acc_{c}")) for c in classes}
        rows.append({"method": method, **cells, "average": _pair(run["macro F1"], run["macro acc"]), "_rank": run["macro F1"], "run": run["run"]})
    table = pd.DataFrame(rows).sort_values("_rank", ascending=False, na_position="last").drop(columns="_rank")
    return table.reset_index(drop=True)


def _class_order(name: str) -> tuple[int, str]:
    """AUs by number (AU2 before AU12), other classes keep alphabetical order after them."""
    digits = name[2:] if name.startswith("AU") else ""
    return (int(digits), name) if digits.isdigit() else (10**6, name)


def _pair(f1, acc) -> str:
    if f1 is None or pd.isna(f1):
        return ""
    return f"{f1:.3f} / {acc:.3f}"


MEGC2019_SOURCES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC"}


def megc2019_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The MEGC2019 table: per method, UF1 / UAR on the composite and on each source database.

    ``runs`` is :func:`latest_runs` with ``per_class=True``; the per-database numbers are the same
    composite LOSO run's predictions restricted to that database's clips (the guideline's
    sub-database rows), logged as ``casme2/uf1`` etc. Methods are ordered by composite UF1.
    """
    chosen = runs[runs["dataset"] == "megc2019"] if not runs.empty and "dataset" in runs else pd.DataFrame()
    if chosen.empty:
        return pd.DataFrame()
    rows = []
    for _, run in chosen.iterrows():
        method = run["recipe"] + (f" [{run['variant']}]" if run["variant"] else "") + (f" ({run['profile']})" if run["profile"] else "")
        row = {"method": method, "composite UF1": run["UF1"], "composite UAR": run["UAR"]}
        for key, title in MEGC2019_SOURCES.items():
            row[f"{title} UF1"], row[f"{title} UAR"] = run.get(f"{key}/uf1"), run.get(f"{key}/uar")
        rows.append({**row, "run": run["run"]})
    return pd.DataFrame(rows).sort_values("composite UF1", ascending=False, na_position="last").reset_index(drop=True)
