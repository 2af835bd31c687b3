"""Read finished runs straight from a SQLite MLflow store (no MLflow import: ``mer4d report`` in well under a second).

MLflow 3's SQLAlchemy store keeps what a report needs in a few plain tables: ``experiments``
(name, lifecycle_stage, creation_time), ``runs`` (status, start_time, lifecycle_stage),
``tags``, ``params`` and ``latest_metrics`` (the last value of each metric, NaN stored as
``is_nan``). :func:`finished_runs` returns the same runs, in the same order, as
``MlflowClient.search_experiments()`` then ``search_runs(..., "attributes.status = 'FINISHED'",
order_by=["attributes.start_time DESC"])``: experiments by creation time (newest first) then id,
runs by start time (newest first) then run id, active ones only, at most 1000 of each as the
client's first page. Any other URI, or a database this reader does not recognise, goes through
``MlflowClient`` (:func:`finished_runs_client`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from mer4d.tracking.store import open_client, sqlite_path

PAGE = 1000  # MlflowClient's default max_results for search_experiments and search_runs


@dataclass(frozen=True)
class StoredRunData:
    """What a report reads of one run."""

    experiment: str
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def finished_runs(uri: str, experiments: list[str] | None = None) -> list[StoredRunData]:
    """FINISHED runs of the live experiments (all, or those named), newest experiment and run first."""
    db = sqlite_path(uri)
    if db is not None:
        try:
            return _sqlite_finished_runs(db, experiments)
        except sqlite3.Error:  # missing, locked mid-migration, or an unknown schema: let MLflow deal with it
            pass
    return finished_runs_client(uri, experiments)


def finished_runs_client(uri: str, experiments: list[str] | None = None) -> list[StoredRunData]:
    """The same through ``MlflowClient`` (any tracking URI)."""
    client = open_client(uri)
    out = []
    for exp in client.search_experiments():
        if experiments is not None and exp.name not in experiments:
            continue
        for run in client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'", order_by=["attributes.start_time DESC"]):
            out.append(StoredRunData(exp.name, run.info.run_id, dict(run.data.tags), dict(run.data.params), dict(run.data.metrics)))
    return out


def _sqlite_finished_runs(db: Path, experiments: list[str] | None) -> list[StoredRunData]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        found = con.execute("SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' "
                            "ORDER BY creation_time DESC, experiment_id ASC LIMIT ?", (PAGE,)).fetchall()
        out = []
        for exp_id, name in found:
            if experiments is not None and name not in experiments:
                continue
            run_ids = [r for (r,) in con.execute("SELECT run_uuid FROM runs WHERE experiment_id = ? AND status = 'FINISHED' AND lifecycle_stage = 'active' "
                                                  "ORDER BY start_time DESC, run_uuid ASC LIMIT ?", (exp_id, PAGE))]
            if not run_ids:
                continue
            tags, params, metrics = _by_run(con, "tags", exp_id), _by_run(con, "params", exp_id), _metrics(con, exp_id)
            out += [StoredRunData(name, r, tags.get(r, {}), params.get(r, {}), metrics.get(r, {})) for r in run_ids]
        return out
    finally:
        con.close()


def _by_run(con: sqlite3.Connection, table: str, exp_id) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for run, key, value in con.execute(f"SELECT t.run_uuid, t.key, t.value FROM {table} t JOIN runs r ON r.run_uuid = t.run_uuid "  # noqa: S608 (fixed table names)
                                       "WHERE r.experiment_id = ? AND r.status = 'FINISHED'", (exp_id,)):
        out.setdefault(run, {})[key] = value
    return out


def _metrics(con: sqlite3.Connection, exp_id) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for run, key, value, is_nan in con.execute("SELECT m.run_uuid, m.key, m.value, m.is_nan FROM latest_metrics m JOIN runs r ON r.run_uuid = m.run_uuid "
                                               "WHERE r.experiment_id = ? AND r.status = 'FINISHED'", (exp_id,)):
        out.setdefault(run, {})[key] = float("nan") if is_nan else float(value)
    return out
