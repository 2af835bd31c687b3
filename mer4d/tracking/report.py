"""Results tables read back from the MLflow store (README's table is generated from here)."""

from __future__ import annotations

import pandas as pd

from mer4d.tracking.store import open_client, tracking_uri

COLUMNS = {"acc": "ACC", "uf1": "UF1", "uar": "UAR", "fold_mean_uf1": "UF1 (fold mean)", "macro_f1": "macro F1", "macro_acc": "macro acc"}


def short_data(description: str) -> str:
    """The dataset description up to its first ':' or ';' and without cache paths, for a table cell."""
    head = description.split(":")[0].split(";")[0]
    return head.split(" cached at ")[0].strip()


def latest_runs(uri: str | None = None, experiments: list[str] | None = None, per_class: bool = False) -> pd.DataFrame:
    """The newest FINISHED parent run of each (experiment, recipe, profile, variant), one row each.

    ``variant`` is the run's method-changing ``--set`` overrides (e.g. ``model.params.views=[1]``
    for a single-view CCDN), so per-view and multi-view runs of one recipe sit side by side.
    ``per_class`` adds every per-class F1 and accuracy (the 4DME paper's Tables 6-8 layout).
    """
    client = open_client(tracking_uri(uri))
    found = [e for e in client.search_experiments() if experiments is None or e.name in experiments]
    rows = []
    for exp in found:
        for run in client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'", order_by=["attributes.start_time DESC"]):
            tags = run.data.tags
            if "mlflow.parentRunId" in tags or "mer4d.recipe" not in tags:
                continue
            rows.append({
                "experiment": exp.name,
                "recipe": tags["mer4d.recipe"],
                "profile": tags.get("mer4d.profile", ""),
                "variant": tags.get("mer4d.variant", ""),
                "data": short_data(tags.get("mer4d.dataset", "")),
                "run": run.info.run_id,
                **{label: run.data.metrics.get(key) for key, label in COLUMNS.items()},
                **({k: v for k, v in sorted(run.data.metrics.items()) if k.startswith(("f1_", "acc_"))} if per_class else {}),
            })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.drop_duplicates(["experiment", "recipe", "profile", "variant"]).reset_index(drop=True)


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table; empty metric columns are left out."""
    if table.empty:
        return "_No finished runs in the store yet: run a recipe first._"
    shown = table.dropna(axis=1, how="all")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = []
    for _, row in shown.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) and pd.notna(v) else ("" if pd.isna(v) else str(v)) for v in row]
        cells = [c[:8] if col == "run" else c for c, col in zip(cells, shown.columns, strict=True)]
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *body])
