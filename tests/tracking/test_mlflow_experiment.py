"""run_experiment with the MLflow tracker, end to end: the parent run, one nested run per fold, artifacts, failure, resume."""

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE
from mlflow.tracking import MlflowClient
from sklearn.metrics import accuracy_score, f1_score, recall_score

from mer4d.core.errors import TrackingError
from mer4d.recipes import load_recipe
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.tracking.store import DEFAULT_URI, artifact_root, tracking_uri
from mer4d.train.experiment import run_experiment


def run_tracked(loaded, resume=None):
    """What ``mer4d run`` does: the recipe's experiment with the MLflow tracker its settings pick."""
    return run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), resume=resume)


def artifact(client, run_id, path, tmp_path) -> Path:
    return Path(client.download_artifacts(run_id, path, str(tmp_path)))


def test_parent_run_holds_pooled_metrics_nested_folds_and_artifacts(store, tmp_path):
    loaded = load_recipe(TOY_RECIPE, TINY)
    tracked = run_tracked(loaded)
    client = MlflowClient(store)
    parent = client.get_run(tracked.run_id)
    assert parent.info.status == "FINISHED"
    children = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{tracked.run_id}'")
    assert len(children) == len(tracked.result.folds) == 3 and {c.info.status for c in children} == {"FINISHED"}
    assert all("train_loss" in c.data.metrics and "uf1" in c.data.metrics for c in children)
    history = client.get_metric_history(children[0].info.run_id, "train_loss")
    assert [m.step for m in history] == [1]  # one point per epoch
    assert parent.data.params["train.epochs"] == "1" and parent.data.params["profile"] == "published"
    assert parent.data.tags["mer4d.dataset_fingerprint"]

    names = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert {"recipe.resolved.yaml", "predictions.csv", "confusion_matrix.png", "confusion_matrix.csv", "per_class.csv", "provenance.json"} <= names
    provenance = json.loads(artifact(client, tracked.run_id, "provenance.json", tmp_path).read_text())
    assert "torch" in provenance["packages"] and "git_commit" in provenance
    assert load_recipe(artifact(client, tracked.run_id, "recipe.resolved.yaml", tmp_path), profile="published").recipe == loaded.recipe

    # The logged UF1/UAR/ACC equal scikit-learn recomputed from the logged predictions CSV.
    table = pd.read_csv(artifact(client, tracked.run_id, "predictions.csv", tmp_path))
    assert {"clip_id", "subject", "fold", "truth", "prediction"} <= set(table.columns)
    labels = list(tracked.result.classes)
    m = parent.data.metrics
    assert m["uf1"] == pytest.approx(f1_score(table.truth, table.prediction, labels=labels, average="macro", zero_division=0), abs=1e-12)
    assert m["uar"] == pytest.approx(recall_score(table.truth, table.prediction, labels=labels, average="macro", zero_division=0), abs=1e-12)
    assert m["acc"] == pytest.approx(accuracy_score(table.truth, table.prediction), abs=1e-12)
    confusion = pd.read_csv(artifact(client, tracked.run_id, "confusion_matrix.csv", tmp_path), index_col=0)
    assert confusion.to_numpy().sum() == len(table)


def test_a_crash_marks_the_run_failed_with_the_traceback(store, tmp_path, monkeypatch):
    import mer4d.train.experiment as experiment

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(experiment, "run_protocol", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_tracked(load_recipe(TOY_RECIPE, TINY))
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("toy_smoke").experiment_id])
    assert run.info.status == "FAILED" and "disk on fire" in run.data.tags["mer4d.error"]
    assert "RuntimeError: disk on fire" in artifact(client, run.info.run_id, "traceback.txt", tmp_path).read_text()


def test_resume_refuses_finished_runs_unknown_runs_and_changed_recipes(store):
    tracked = run_tracked(load_recipe(TOY_RECIPE, TINY))
    with pytest.raises(TrackingError, match="already FINISHED"):
        run_tracked(load_recipe(TOY_RECIPE, TINY), resume=tracked.run_id)
    with pytest.raises(TrackingError, match="no such run"):
        run_tracked(load_recipe(TOY_RECIPE, TINY), resume="0" * 32)
    client = MlflowClient(store)
    client.update_run(tracked.run_id, status="RUNNING")  # as after a SIGKILL
    with pytest.raises(TrackingError, match=r"(?s)recipe differs.*epochs: 1\n\+  epochs: 2"):
        run_tracked(load_recipe(TOY_RECIPE, [*TINY, "train.epochs=2"]), resume=tracked.run_id)


def test_ctrl_c_marks_the_run_and_the_running_fold_killed(store, monkeypatch):
    import mer4d.train.runner as runner

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "fit", interrupt)  # inside the first fold, after its nested run started
    with pytest.raises(KeyboardInterrupt):
        run_tracked(load_recipe(TOY_RECIPE, TINY))
    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("toy_smoke").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (fold,) = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert parent.info.status == fold.info.status == "KILLED" and "mer4d.error" not in parent.data.tags


def test_resume_refuses_a_changed_dataset_and_marks_the_run_failed(store):
    tracked = run_tracked(load_recipe(TOY_RECIPE, TINY))
    client = MlflowClient(store)
    fingerprint = client.get_run(tracked.run_id).data.tags["mer4d.dataset_fingerprint"]
    client.set_tag(tracked.run_id, "mer4d.dataset_fingerprint", "0123456789abcdef")
    client.update_run(tracked.run_id, status="RUNNING")  # as after a SIGKILL
    with pytest.raises(TrackingError, match=f"dataset changed since the run started \\(fingerprint 0123456789abcdef -> {fingerprint}\\)"):
        run_tracked(load_recipe(TOY_RECIPE, TINY), resume=tracked.run_id)
    assert client.get_run(tracked.run_id).info.status == "FAILED"


def test_store_resolution_order(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == DEFAULT_URI == "sqlite:///mlruns/mlflow.db"
    assert tracking_uri("http://team:5000") == "http://team:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking_uri("http://team:5000") == "sqlite:///elsewhere.db"
    assert artifact_root(DEFAULT_URI).endswith("/mlruns/artifacts") and artifact_root("http://team:5000") is None


def test_report_lists_the_newest_finished_run_per_recipe(store):
    from mer4d.tracking.report import latest_runs, markdown_table

    assert "No finished runs" in markdown_table(latest_runs())
    first = run_tracked(load_recipe(TOY_RECIPE, TINY))
    second = run_tracked(load_recipe(TOY_RECIPE, TINY))
    table = latest_runs()
    assert list(table["run"]) == [second.run_id] and first.run_id != second.run_id
    text = markdown_table(table)
    assert text.splitlines()[0].startswith("| experiment | recipe |") and f"{second.result.metrics['uf1']:.3f}" in text
    # a --set variant (e.g. a single-view model) gets its own row; placement overrides do not
    third = run_tracked(load_recipe(TOY_RECIPE, [*TINY, "train.lr=0.01"]))
    table = latest_runs(per_class=True)
    assert set(table["run"]) == {second.run_id, third.run_id}
    assert "train.lr=0.01" in table.loc[table["run"] == third.run_id, "variant"].iat[0]
    assert table.loc[table["run"] == third.run_id, "f1_happiness" if "f1_happiness" in table else table.filter(like="f1_").columns[0]].notna().all()


def test_a_deleted_experiment_gives_a_fix_not_a_traceback(store):
    from mlflow.tracking import MlflowClient

    from mer4d.tracking.store import experiment_id

    client = MlflowClient(store)
    client.delete_experiment(experiment_id(client, "gone", store))
    with pytest.raises(TrackingError, match="experiment 'gone' was deleted.*restore it"):
        experiment_id(client, "gone", store)


def test_report_data_cells_are_short():
    from mer4d.tracking.report import short_data

    desc = "built-in 4DME simulator (quick, seed 0) cached at /tmp/c/sim/4dme; views left/front x domains dpi at 64 px: 120 clips, 12 subjects"
    assert short_data(desc) == "built-in 4DME simulator (quick, seed 0)"
    assert short_data("4DME at /data/4DME: 267 clips") == "4DME at /data/4DME"
    assert short_data("built-in toy generator: 6 subjects, 108 clips, 3 classes") == "built-in toy generator"


def test_a_subject_overlapping_protocol_is_tagged_and_a_subject_independent_one_is_not(store):
    client = MlflowClient(store)
    overlap = run_tracked(load_recipe(TOY_RECIPE, [*TINY, "protocol.kind=sample_kfold", "protocol.folds=3", "protocol.subject_overlap=true"]))
    honest = run_tracked(load_recipe(TOY_RECIPE, TINY))
    assert client.get_run(overlap.run_id).data.tags.get("mer4d.subject_overlap") == "true"
    assert "mer4d.subject_overlap" not in client.get_run(honest.run_id).data.tags
    assert [f.name for f in overlap.result.folds] == ["clips_fold=0", "clips_fold=1", "clips_fold=2"]
    from mer4d.tracking.report import latest_runs

    marked = latest_runs(store).set_index("run")["data"]
    assert marked[overlap.run_id].endswith("[subject-overlapping folds]") and "overlapping" not in marked[honest.run_id]
