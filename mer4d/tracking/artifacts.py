"""Pooled results of a finished protocol -> metrics and artifacts on the parent run."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from mer4d.tracking.figures import confusion_figure
from mer4d.train.runner import ProtocolResult


def per_class_table(result: ProtocolResult) -> pd.DataFrame:
    """One row per class with its pooled F1 (and accuracy for multi-label tasks)."""
    rows = []
    for c in result.classes:
        row = {"class": c, "f1": result.metrics.get(f"f1_{c}")}
        if f"acc_{c}" in result.metrics:
            row["acc"] = result.metrics[f"acc_{c}"]
        row["support"] = int((result.table["truth"] == c).sum()) if f"true_{c}" not in result.table else int(result.table[f"true_{c}"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def metric_batch(metrics: dict[str, float], step: int = 0):
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(key, float(value), now, step) for key, value in metrics.items()]


def log_results(client, run_id: str, result: ProtocolResult) -> None:
    client.log_batch(run_id, metrics=metric_batch(result.metrics))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result.table.to_csv(folder / "predictions.csv", index=False)
        per_class_table(result).to_csv(folder / "per_class.csv", index=False)
        if result.confusion is not None:
            pd.DataFrame(result.confusion, index=list(result.classes), columns=list(result.classes)).rename_axis("truth \\ predicted").to_csv(folder / "confusion_matrix.csv")
            fig = confusion_figure(result.confusion, result.classes, f"pooled over {len(result.folds)} folds (counts)")
            fig.savefig(folder / "confusion_matrix.png", dpi=120)
            import matplotlib.pyplot as plt

            plt.close(fig)
        for path in sorted(folder.iterdir()):
            client.log_artifact(run_id, str(path))


def log_repeats(client, run_id: str, result) -> None:
    """A repeats run's summary (:class:`~mer4d.train.repeats.RepeatsResult`): the metrics, every
    seed's pooled predictions (``predictions.csv`` with a ``seed`` column) and one row per seed (``seeds.csv``)."""
    client.log_batch(run_id, metrics=metric_batch(result.metrics))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result.table.to_csv(folder / "predictions.csv", index=False)
        rows = [{"seed": s, "run": r.run_id, **{k: v for k, v in r.result.metrics.items() if "/" not in k and not k.startswith(("f1_", "acc_"))}}
                for s, r in zip(result.seeds, result.runs, strict=True)]
        pd.DataFrame(rows).to_csv(folder / "seeds.csv", index=False)
        for path in sorted(folder.iterdir()):
            client.log_artifact(run_id, str(path))
