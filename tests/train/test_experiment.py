"""run_experiment's run handling (new, resumed, failed, killed) with the in-memory tracker: no MLflow."""

import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE

import mer4d.train.experiment as experiment
import mer4d.train.runner as runner
from mer4d.core.errors import RecipeError, TrackingError
from mer4d.recipes import load_recipe
from mer4d.train.experiment import run_experiment
from mer4d.train.tracker import MemoryTracker


def loaded(*extra: str):
    return load_recipe(TOY_RECIPE, [*TINY, *extra])


def test_a_new_run_records_the_data_the_results_and_finishes():
    tracker = MemoryTracker()
    run = run_experiment(loaded(), tracker, progress=False)
    assert run.run_id == tracker.run_id and tracker.status == "FINISHED"
    assert tracker.result is run.result and sorted(tracker.done) == [0, 1, 2]
    assert tracker.fingerprint and "toy" in tracker.description
    pooled = pd.concat([tracker.done[k].table for k in sorted(tracker.done)], ignore_index=True)
    pd.testing.assert_frame_equal(run.result.table, pooled)


def test_resume_reuses_finished_folds_and_equals_an_uninterrupted_run(monkeypatch):
    reference = run_experiment(loaded(), MemoryTracker(), progress=False)
    tracker = MemoryTracker()
    original = runner.run_fold

    def crash_in_fold_2(recipe, corpus, fold, number, *args, **kwargs):
        if number == 2:
            raise RuntimeError("power cut")
        return original(recipe, corpus, fold, number, *args, **kwargs)

    monkeypatch.setattr(runner, "run_fold", crash_in_fold_2)
    with pytest.raises(RuntimeError, match="power cut"):
        run_experiment(loaded(), tracker, progress=False)
    assert tracker.status == "FAILED" and tracker.error == "RuntimeError: power cut" and sorted(tracker.done) == [0, 1]
    monkeypatch.setattr(runner, "run_fold", original)
    trained = []
    monkeypatch.setattr(runner, "run_fold", lambda *a, **k: trained.append(a[3]) or original(*a, **k))
    resumed = run_experiment(loaded(), tracker, resume=tracker.run_id, progress=False)
    assert trained == [2] and tracker.status == "FINISHED" and resumed.run_id == tracker.run_id
    pd.testing.assert_frame_equal(resumed.result.table, reference.result.table)
    assert resumed.result.metrics == reference.result.metrics


def test_resume_refuses_finished_unknown_changed_runs():
    tracker = MemoryTracker()
    run = run_experiment(loaded(), tracker, progress=False)
    with pytest.raises(TrackingError, match="already FINISHED"):
        run_experiment(loaded(), tracker, resume=run.run_id, progress=False)
    with pytest.raises(TrackingError, match="no such run"):
        run_experiment(loaded(), tracker, resume="elsewhere", progress=False)
    tracker.status = "RUNNING"  # as after a SIGKILL
    with pytest.raises(TrackingError, match=r"(?s)recipe differs.*-  epochs: 1\n\+  epochs: 2"):
        run_experiment(loaded("train.epochs=2"), tracker, resume=run.run_id, progress=False)
    assert tracker.status == "RUNNING"  # refused before the run was touched
    tracker.fingerprint = "0123456789abcdef"
    with pytest.raises(TrackingError, match="dataset changed since the run started .fingerprint 0123456789abcdef -> "):
        run_experiment(loaded(), tracker, resume=run.run_id, progress=False)
    assert tracker.status == "FAILED"


def test_ctrl_c_marks_the_fold_in_progress_and_the_run_killed(monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "fit", interrupt)
    tracker = MemoryTracker()
    with pytest.raises(KeyboardInterrupt):
        run_experiment(loaded(), tracker, progress=False)
    assert tracker.status == "KILLED" and tracker.failed_folds == {0: "KILLED"} and tracker.error is None


def test_a_model_that_does_not_fit_the_task_fails_the_run_before_the_data_is_built(monkeypatch):
    monkeypatch.setattr(experiment, "build_corpus", lambda recipe: pytest.fail("the corpus was built"))
    tracker = MemoryTracker()
    with pytest.raises(RecipeError, match="model.params.multilabel=True but dataset.task=emotion is single-label"):
        run_experiment(loaded("model.name=ccdn", "model.params={multilabel: true, width: 0.125}"), tracker, progress=False)
    assert tracker.status == "FAILED" and tracker.error.startswith("RecipeError")


def test_running_an_experiment_imports_no_tracking_backend():
    import subprocess
    import sys

    code = "import sys, mer4d.train.experiment; print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'mer4d') and m.startswith(('mlflow', 'mer4d.tracking'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
