"""Repeats and the shuffled control in the MLflow store: the layout, the report rows, and report --compare."""

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import TINY, TOY_RECIPE
from mlflow.tracking import MlflowClient

from mer4d.cli import cli as main
from mer4d.core.errors import TrackingError
from mer4d.recipes import load_recipe
from mer4d.tracking.compare import compare_runs
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.tracking.report import EVIDENCE_METRICS, evidence_table, latest_runs
from mer4d.train.repeats import run_recipe

SMALL = (*TINY, "dataset.params.subjects=3")


def run(overrides=(), seeds=None, resume=None):
    loaded = load_recipe(TOY_RECIPE, [*SMALL, *overrides])
    return run_recipe(loaded, MlflowTracker.for_recipe(loaded.recipe), seeds=seeds, resume=resume, progress=False)


def test_repeats_layout_report_rows_and_compare(store, tmp_path):
    client = MlflowClient(store)
    single = run()
    repeats = run(seeds=[0, 1])
    control = run(["control=shuffled"], seeds=[0, 1])

    parent = client.get_run(repeats.run_id)
    assert parent.data.tags["mer4d.repeats"] == "2" and parent.data.tags["mer4d.seeds"] == "0,1"
    assert parent.data.tags["mer4d.recipe"] == "toy_smoke" and "mlflow.parentRunId" not in parent.data.tags
    assert parent.data.tags["mer4d.dataset"]
    m = parent.data.metrics
    assert m["n_seeds"] == 2 and {"uf1", "uf1_mean", "uf1_sd", "uf1_ci_low", "uf1_ci_high", "acc_sd"} <= set(m)
    exp = parent.info.experiment_id
    seeds = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{repeats.run_id}'")
    assert sorted(r.data.tags["mer4d.seed"] for r in seeds) == ["0", "1"]
    assert {r.data.tags["mer4d.repeat_of"] for r in seeds} == {repeats.run_id} and {r.info.status for r in seeds} == {"FINISHED"}
    # the repeats run's dataset inputs are its seeds' (the toy data is drawn from the seed: one fingerprint per seed)
    given = parent.inputs.dataset_inputs
    assert {t.value for i in given for t in i.tags if t.key == "mlflow.data.context"} == {"2 seeds"}
    assert {i.dataset.digest for i in given} == {r.data.tags["mer4d.dataset_fingerprint"] for r in seeds} == {i.dataset.digest for r in seeds for i in r.inputs.dataset_inputs}
    for seed_run in seeds:  # each seed run holds its folds, like a plain run
        folds = client.search_runs([exp], f"tags.`mlflow.parentRunId` = '{seed_run.info.run_id}'")
        assert len(folds) == 3 and all("mer4d.fold_number" in f.data.tags for f in folds)
    table = pd.read_csv(client.download_artifacts(repeats.run_id, "predictions.csv", str(tmp_path)))
    assert sorted(table["seed"].unique()) == [0, 1] and len(table) == 2 * len(single.result.table)
    assert client.get_run(control.run_id).data.tags["mer4d.control"] == "shuffled"
    assert "uf1_ci_low" in client.get_run(single.run_id).data.metrics  # a single run has an interval too

    # the report: one row per group, the repeats run preferred to the single run, seed runs never rows
    runs = latest_runs(metrics=EVIDENCE_METRICS)
    assert set(runs["run"]) == {repeats.run_id, control.run_id}
    assert runs.loc[runs["run"] == repeats.run_id, "UF1"].iat[0] == pytest.approx(m["uf1_mean"])  # numeric columns stay numeric
    shown = evidence_table(runs)
    cell = shown.loc[shown["run"] == repeats.run_id, "UF1"].iat[0]
    assert cell == f"{m['uf1_mean']:.3f} ± {m['uf1_sd']:.3f} (2 seeds)"
    assert shown.loc[shown["run"] == repeats.run_id, "UF1 95% CI"].iat[0] == f"[{m['uf1_ci_low']:.2f}, {m['uf1_ci_high']:.2f}]"
    assert "control=shuffled" in shown.loc[shown["run"] == control.run_id, "variant"].iat[0]
    single_only = evidence_table(pd.DataFrame([{"run": "x", "UF1": 0.398, "n_seeds": None, "uf1_sd": None, "uf1_ci_low": 0.35, "uf1_ci_high": 0.47}]))
    assert single_only["UF1"].iat[0] == "0.398 (1 seed)" and single_only["UF1 95% CI"].iat[0] == "[0.35, 0.47]"

    # --compare: a run against itself is refused, against its control it pairs every seed's clips
    same = compare_runs(repeats.run_id[:8], control.run_id[:8])
    assert same.test.clips == len(table) and same.test.clusters == 3
    assert same.difference == pytest.approx(same.value_a - same.value_b) and same.ci[0] <= same.ci[1]
    assert same.metric_test.observed == pytest.approx(same.difference, abs=1e-12)  # the verdict tests the reported difference
    with pytest.raises(TrackingError, match="repeats run.*single run"):
        compare_runs(repeats.run_id, single.run_id)
    with pytest.raises(TrackingError, match="same run"):
        compare_runs(repeats.run_id, repeats.run_id[:8])
    out = CliRunner().invoke(main, ["report", "--compare", repeats.run_id[:8], control.run_id[:8]])
    assert out.exit_code == 0, out.output
    assert "95% CI" in out.output and "p = " in out.output and ("beats" in out.output or "no significant difference in UF1" in out.output)

    with pytest.raises(TrackingError, match="repeats run.*not supported"):
        run(seeds=[0, 1], resume=repeats.run_id)


def test_compare_names_the_clips_that_differ(store):
    a = run()
    b = run(["dataset.params.subjects=2"])
    with pytest.raises(TrackingError, match="different clips: 0 only in A.*only in B|different clips: .* only in A"):
        compare_runs(a.run_id[:8], b.run_id[:8])
    identical = compare_runs(a.run_id, run().run_id)  # the same recipe and seed: the same predictions
    assert identical.difference == 0 and identical.test.p_value == 1.0 and identical.metric_test.p_value == 1.0
