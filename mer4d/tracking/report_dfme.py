"""The DFME paper's result tables (Tables VII, VIII, IX and XI) read back from the MLflow store.

Each DFME recipe (one per model) has a *base* run: its own settings, no method-changing ``--set``.
A table varies one factor (the resampling, the loss, the key-frame sampling) and shows, per model,
every run that differs from that model's base run in that factor only, next to the base run. So
``mer4d run recipes/dfme_r3d.yaml --set train.resample=uniform`` lands in Table VIII and nowhere
else. Pooled ACC / UF1 / UAR come first; the paper reports the mean over its 10 folds, shown as
the ``fold mean`` columns.
"""

from __future__ import annotations

import pandas as pd

# factor -> the logged recipe parameter(s) it reads; a loss is its name plus its settings
FACTORS: dict[str, tuple[str, ...]] = {
    "resample": ("train.resample",),
    "loss": ("train.loss.name", "train.loss.beta", "train.loss.gamma", "train.loss.variant", "train.loss"),
    "sampling": ("sampling.strategy", "sampling.frames"),
}
TABLES = {
    "VII": ("baselines: the four 3D CNNs with the recipes' own settings", None),
    "VIII": ("resampling: none vs uniform class resampling of the training fold", "resample"),
    "IX": ("class-balanced loss: cross-entropy vs class-balanced softmax / sigmoid / focal", "loss"),
    "XI": ("key-frame sampling: uniform vs temporal-adaptive", "sampling"),
}
PARAMS = ("model.name", "dataset.name", "protocol.kind", *{p for names in FACTORS.values() for p in names})
METRICS = ("fold_mean_acc", "fold_mean_uf1", "fold_mean_uar")


def _setting(run: pd.Series, factor: str) -> str:
    """The run's value of one factor as text, e.g. ``class_balanced beta=0.9999``."""
    names = [n for n in FACTORS[factor] if str(run.get(n, "") or "") != ""]
    if factor == "loss":
        # the name (logged as train.loss before it became a mapping), then the settings its form uses
        key = "train.loss.name" if "train.loss.name" in names else "train.loss"
        shown = {"class_balanced": ("train.loss.beta", "train.loss.variant"), "class_balanced_focal": ("train.loss.beta", "train.loss.gamma", "train.loss.variant")}
        names = [key, *(n for n in names if n in shown.get(str(run.get(key, "")), ()))] if key in names else []
    return " ".join(f"{n.rsplit('.', 1)[-1]}={run[n]}" if i else str(run[n]) for i, n in enumerate(names))


def _varies_only(variant: str, factor: str) -> bool:
    """Whether every ``--set`` of ``variant`` changes ``factor`` (a wider model, say, is not a resampling row)."""
    keys = [o.split("=", 1)[0] for o in variant.split()]
    return bool(keys) and all(any(k == n or k.startswith(n + ".") for n in FACTORS[factor]) for k in keys)


def dfme_tables(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Table number -> rows (model, setting, pooled and fold-mean ACC / UF1 / UAR, run).

    ``runs`` is :func:`mer4d.tracking.report.latest_runs` with ``params=PARAMS, metrics=METRICS``.
    A model without a base run is left out (there is nothing to compare against).
    """
    chosen = runs[runs["dataset.name"] == "dfme"] if not runs.empty and "dataset.name" in runs else pd.DataFrame()
    out = {number: pd.DataFrame() for number in TABLES}
    if chosen.empty:
        return out
    for number, (_title, factor) in TABLES.items():
        rows = []
        for model, group in chosen.groupby("model.name", sort=True):
            bases = group[group["variant"] == ""]
            if bases.empty:
                continue
            base = bases.iloc[0]
            picked = [base] if factor is None else [base, *(r for _, r in group.iterrows() if r["variant"] != "" and _varies_only(r["variant"], factor))]
            for run in sorted(picked, key=lambda r: (r["variant"] != "", _setting(r, factor) if factor else "")):
                rows.append({
                    "model": model, "setting": _setting(run, factor) if factor else run["recipe"], "protocol": run["protocol.kind"],
                    "ACC": run["ACC"], "UF1": run["UF1"], "UAR": run["UAR"],
                    "ACC (fold mean)": run["fold_mean_acc"], "UF1 (fold mean)": run["fold_mean_uf1"], "UAR (fold mean)": run["fold_mean_uar"],
                    "profile": run["profile"], "run": run["run"],
                })
        out[number] = pd.DataFrame(rows)
    return out


def dfme_markdown(tables: dict[str, pd.DataFrame]) -> str:
    """The four tables of :func:`dfme_tables` as markdown, each under its heading (``mer4d report --tables dfme``)."""
    from mer4d.tracking.report import markdown_table

    parts = []
    for number, (title, _factor) in TABLES.items():
        table = tables[number]
        empty = f"_No finished dfme run for this table: run recipes/dfme_r3d.yaml{'' if number == 'VII' else ' with the --set of docs/recipes.md (DFME)'}._"
        parts.append(f"### DFME Table {number} layout: {title}\n\n{markdown_table(table) if not table.empty else empty}")
    return "\n\n".join(parts)
