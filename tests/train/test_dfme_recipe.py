"""The DFME recipes: each names a registered model that builds from its quick options, and the
family runs end to end on a tiny simulated DFME through MLflow, with the paper's settings logged."""

import pytest
import torch
from conftest import REPO
from mlflow.tracking import MlflowClient

from mer4d.data.datasets.dfme import EMOTIONS
from mer4d.models import build_model
from mer4d.recipes import load_recipe
from mer4d.synth.writers.dfme import write_dfme
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.train.experiment import run_experiment

# DFME §4.5: model -> (input px, initial lr)
PAPER = {"dfme_r3d": ("res3d", 224, 0.005), "dfme_p3d": ("p3d", 160, 0.01), "dfme_d3d": ("d3d", 224, 0.05), "dfme_i3d": ("i3d", 224, 0.005)}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_published_settings_are_the_papers_and_quick_builds(name, tiny_conv_backend):
    model, size, lr = PAPER[name]
    published = load_recipe(REPO / "recipes" / f"{name}.yaml", profile="published").recipe
    assert (published.model.name, published.preprocess.size, published.train.lr) == (model, size, lr)
    assert (published.sampling.strategy, published.sampling.frames, published.train.batch_size) == ("adaptive", 16, 32)
    assert (published.train.optimizer, published.train.momentum, published.train.schedule, published.train.step_size, published.train.gamma) == ("sgd", 0.9, "step", 10, 0.1)
    assert published.train.loss.name == "ce" and published.protocol.kind == "subject_kfold" and published.protocol.folds == 10
    quick = load_recipe(REPO / "recipes" / f"{name}.yaml", profile="quick").recipe
    net = build_model(quick.model.name, num_classes=7, in_channels=3, **quick.model.params)
    crop = quick.train.crop or quick.preprocess.size
    assert net(torch.rand(2, 3, quick.sampling.frames, crop, crop)).shape == (2, 7)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return write_dfme(tmp_path_factory.mktemp("sim") / "dfme", seed=0, progress=False, subjects=3, clips_per_subject=2, size_px=24)


@pytest.mark.parametrize(("protocol", "folds"), [
    (["protocol.kind=split_column", "protocol.column=fold", "protocol.train_only=[train]"], {"fold=testA", "fold=testB"}),
    (["protocol.folds=2", "train.loss.name=class_balanced", "train.loss.beta=0.99"], None),
], ids=["official-split", "subject-kfold-cb-loss"])
def test_the_dfme_family_runs_end_to_end(protocol, folds, tiny_root, store, tmp_path, monkeypatch, tiny_conv_backend):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    overrides = [f"dataset.root={tiny_root}", "train.epochs=1", "preprocess.size=20", "train.crop=16", "sampling.frames=4", "model.params.width=2", *protocol]
    loaded = load_recipe(REPO / "recipes" / "dfme_r3d.yaml", overrides, profile="quick")
    tracked = run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), progress=False)
    run = MlflowClient(store).get_run(tracked.run_id)
    assert tracked.result.classes == EMOTIONS and run.info.status == "FINISHED"
    assert run.data.params["sampling.strategy"] == "adaptive" and run.data.params["model.name"] == "res3d"
    assert {"acc", "uf1", "uar", "fold_mean_uf1"} <= set(run.data.metrics)
    names = {f.name for f in tracked.result.folds}
    tested = len(tracked.result.table)
    if folds is not None:  # train on the training sheet, test Test A and Test B separately
        assert names == folds and tested == 8  # 2 + 2 test subjects x 2 clips
    else:
        assert run.data.params["train.loss.name"] == "class_balanced" and tested == 14
