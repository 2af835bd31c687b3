"""analyze_cam on a tracked toy run: refused without kept models, and each fold's model sees only its own test clips."""

import pytest
from conftest import TINY, TOY_RECIPE

import mer4d.analysis.cam as cam
from mer4d.analysis.cam import analyze_cam
from mer4d.core.errors import TrackingError
from mer4d.recipes import load_recipe
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.train.experiment import run_experiment


def tracked(*extra):
    loaded = load_recipe(TOY_RECIPE, [*TINY, *extra])
    return run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), progress=False)


def test_a_run_without_kept_models_is_refused_with_the_fix(store):
    run = tracked()
    with pytest.raises(TrackingError, match=r"did not keep its fold models.*rerun its recipe with --set train.keep_checkpoints=true"):
        analyze_cam(run.run_id, progress=False)


def test_each_fold_model_explains_exactly_its_own_test_clips(store, monkeypatch):
    run = tracked("train.keep_checkpoints=true")
    shown = []
    real = cam.fold_batches

    def spy(rebuilt, positions):
        fold = next(f for f in rebuilt.folds if f.test is positions)
        ids = rebuilt.corpus.index["clip_id"].astype(str).to_numpy()
        shown.append((fold.name, set(ids[positions]), set(fold.checkpoint.train_clip_ids)))
        return real(rebuilt, positions)

    monkeypatch.setattr(cam, "fold_batches", spy)
    report = analyze_cam(run.run_id, progress=False)
    table = run.result.table
    assert [name for name, _, _ in shown] == sorted(set(table["fold"]))
    for name, test, trained in shown:
        assert test == set(table.loc[table["fold"] == name, "clip_id"]) and not test & trained
    assert report.clips == len(table) == sum(report.maps.clips)  # single-label: each clip in its one class
