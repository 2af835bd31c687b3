"""The SQLite reader behind ``mer4d report`` gives exactly what the MlflowClient path gives."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pandas as pd
from conftest import REPO
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from mer4d.tracking import report, store_reader
from mer4d.tracking.store_reader import finished_runs, finished_runs_client


def fill(uri: str) -> None:
    """Two experiments (and a deleted one) with finished, nested, failed, running, deleted and pretrain runs."""
    client = MlflowClient(uri)
    now = int(time.time() * 1000)
    for e, name in enumerate(("alpha", "beta", "gone")):
        exp = client.create_experiment(name)
        for k in range(4):
            tags = {"mer4d.recipe": f"recipe_{k % 2}", "mer4d.profile": "published", "mer4d.variant": "x=1" if k == 3 else "", "mer4d.dataset": "toy: 6 subjects"}
            if k == 2:
                tags["mer4d.stage"] = "pretrain"
            run = client.create_run(exp, tags=tags, run_name=f"{name}-{k}", start_time=now + 1000 * k)
            rid = run.info.run_id
            client.log_batch(rid, metrics=[Metric("uf1", 0.5 + 0.1 * k + e, now, 0), Metric("acc", 0.4, now, 0), Metric("f1_happy", float("nan"), now, 0),
                                           Metric("casme2/uf1", 0.3, now, 0), Metric("uf1", 0.6 + k, now + 5, 1)],
                             params=[Param("dataset.task", "emotion"), Param("dataset.name", "toy"), Param("train.resample", "none")],
                             tags=[RunTag("mer4d.pretrain_variant", "v")])
            client.set_terminated(rid, "FINISHED")
            child = client.create_run(exp, tags={"mlflow.parentRunId": rid}, run_name="fold-01", start_time=now + 1000 * k + 1)
            client.log_batch(child.info.run_id, metrics=[Metric("uf1", 0.1, now, 0)])
            client.set_terminated(child.info.run_id, "FINISHED")
        failed = client.create_run(exp, tags={"mer4d.recipe": "recipe_0"}, start_time=now + 9000)
        client.set_terminated(failed.info.run_id, "FAILED")
        client.create_run(exp, tags={"mer4d.recipe": "recipe_0"}, start_time=now + 9500)  # still running
        deleted = client.create_run(exp, tags={"mer4d.recipe": "recipe_1"}, start_time=now + 9900)
        client.set_terminated(deleted.info.run_id, "FINISHED")
        client.delete_run(deleted.info.run_id)
        if name == "gone":
            client.delete_experiment(exp)


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def test_sqlite_reader_matches_the_client(store):
    fill(store)
    fast, slow = finished_runs(store), finished_runs_client(store)
    assert [(r.experiment, r.run_id) for r in fast] == [(r.experiment, r.run_id) for r in slow] and len(fast) == 16
    for a, b in zip(fast, slow, strict=True):
        assert a.tags == b.tags and a.params == b.params
        assert a.metrics.keys() == b.metrics.keys() and all(same(a.metrics[k], b.metrics[k]) for k in a.metrics)
    assert [r.run_id for r in finished_runs(store, ["beta"])] == [r.run_id for r in finished_runs_client(store, ["beta"])]


def test_latest_runs_is_the_same_table_from_both_paths(store, monkeypatch):
    fill(store)
    kwargs = {"per_class": True, "params": ("train.resample",), "metrics": ("acc",), "tags": ("mer4d.pretrain_variant",)}
    fast = report.latest_runs(store, **kwargs)
    monkeypatch.setattr(report, "finished_runs", finished_runs_client)
    slow = report.latest_runs(store, **kwargs)
    assert len(fast) == 6  # per live experiment: recipe_0, recipe_1 and recipe_1 [x=1] (the pretrain run left out)
    pd.testing.assert_frame_equal(fast, slow)
    assert report.markdown_table(fast) == report.markdown_table(slow)


def test_other_uris_and_unknown_databases_fall_back_to_the_client(store, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(store_reader, "finished_runs_client", lambda uri, exps=None: calls.append(uri) or [])
    assert finished_runs("http://127.0.0.1:1") == [] and calls == ["http://127.0.0.1:1"]
    bad = tmp_path / "not_mlflow.db"
    import sqlite3

    sqlite3.connect(bad).execute("CREATE TABLE x (a)").connection.commit()
    assert finished_runs(f"sqlite:///{bad}") == [] and len(calls) == 2


def test_report_imports_neither_mlflow_nor_torch(store):
    code = "import sys, mer4d.cli.report, mer4d.tracking.report; print(sorted(m for m in ('mlflow', 'torch', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
    assert out == "[]"
