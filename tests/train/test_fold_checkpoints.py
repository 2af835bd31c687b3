"""train.keep_checkpoints: each fold's model is stored in its fold run and reloads to the same predictions."""

import numpy as np
import pytest
import torch
from conftest import TINY, TOY_RECIPE

from mer4d.core.errors import RecipeError, TrackingError
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.tracking.fold_store import RunFolds
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.train.checkpoints import CHECKPOINT_FORMAT, load_checkpoint
from mer4d.train.clipset import ClipSet
from mer4d.train.engine import predict
from mer4d.train.experiment import run_experiment
from mer4d.train.runner import build_folds

KEEP = (*TINY, "train.keep_checkpoints=true")


def run_tracked(loaded, resume=None):
    return run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), resume=resume, progress=False)


def test_reloaded_fold_models_give_the_stored_predictions(store, tmp_path):
    loaded = load_recipe(TOY_RECIPE, KEEP)
    tracked = run_tracked(loaded)
    folds = RunFolds(tracked.run_id).folds(tmp_path / "ckpt")
    corpus = load_corpus(loaded.recipe, progress=False)
    protocol = build_folds(loaded.recipe, corpus)
    assert [f.number for f in folds] == list(range(len(protocol))) and all(f.checkpoint is not None for f in folds)
    table = tracked.result.table
    score_columns = [f"score_{c}" for c in tracked.result.classes]
    for stored, fold in zip(folds, protocol, strict=True):
        raw = torch.load(stored.checkpoint, weights_only=True)  # plain tensors and data: no pickled code
        assert raw["format"] == CHECKPOINT_FORMAT
        ckpt = load_checkpoint(stored.checkpoint)
        ids = corpus.index["clip_id"].astype(str).to_numpy()
        assert ckpt.test_clip_ids == tuple(ids[fold.test]) and ckpt.train_clip_ids == tuple(ids[fold.train])
        assert ckpt.classes == tracked.result.classes and ckpt.model == "tiny3d"
        model = ckpt.build()
        scores = predict(model, ClipSet(corpus, fold.test, np.zeros(len(corpus.index), dtype=np.int64)), loaded.recipe.train, multilabel=False)
        expected = table[table["fold"] == fold.name].set_index("clip_id").loc[list(ids[fold.test]), score_columns].to_numpy()
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)


def test_a_run_without_the_setting_keeps_no_checkpoint(store, tmp_path):
    tracked = run_tracked(load_recipe(TOY_RECIPE, TINY))
    assert all(f.checkpoint is None for f in RunFolds(tracked.run_id).folds(tmp_path))


def test_resume_keeps_the_checkpoints_of_folds_finished_before_the_crash(store, tmp_path, monkeypatch):
    import mer4d.train.runner as runner

    real_fit, calls = runner.fit, []

    def crash_on_second_fold(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(runner, "fit", crash_on_second_fold)
    loaded = load_recipe(TOY_RECIPE, KEEP)
    with pytest.raises(RuntimeError, match="power cut"):
        run_tracked(loaded)
    (run_id,) = {r.info.run_id for r in MlflowTracker.for_recipe(loaded.recipe).client.search_runs(
        [MlflowTracker.for_recipe(loaded.recipe).client.get_experiment_by_name("toy_smoke").experiment_id], "attributes.status = 'FAILED'")
        if "mlflow.parentRunId" not in r.data.tags}
    before = RunFolds(run_id).folds(tmp_path / "before")
    assert [f.number for f in before] == [0] and before[0].checkpoint is not None
    first = load_checkpoint(before[0].checkpoint).state
    monkeypatch.setattr(runner, "fit", real_fit)
    run_tracked(loaded, resume=run_id)
    after = RunFolds(run_id).folds(tmp_path / "after")
    assert [f.number for f in after] == [0, 1, 2] and all(f.checkpoint is not None for f in after)
    again = load_checkpoint(after[0].checkpoint).state
    assert all(torch.equal(first[k], again[k]) for k in first)  # the earlier fold's checkpoint is kept, not retrained


def test_classic_models_refuse_the_setting():
    from mer4d.train.runner import check_recipe_fits

    recipe = load_recipe("4dme_lbptop", ["train.keep_checkpoints=true"]).recipe
    with pytest.raises(RecipeError, match="keep_checkpoints=true keeps torch weights.*classic"):
        check_recipe_fits(recipe)


def test_a_foreign_file_is_refused_with_its_format(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "x.pt")
    with pytest.raises(TrackingError, match="format None, expected 'mer4d-fold-checkpoint/1'"):
        load_checkpoint(tmp_path / "x.pt")
