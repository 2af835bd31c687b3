"""The MoExt recipes: the paper's settings as published, and pretrain -> fine-tune end to end through
MLflow on tiny simulated roots, with the fold discipline checked on the stored predictions."""

import json

import cv2
import pytest
import torch
from conftest import REPO
from mlflow.tracking import MlflowClient

from mer4d.core.errors import RecipeError
from mer4d.recipes import load_recipe
from mer4d.synth.writers.casme3 import write_casme3
from mer4d.synth.writers.megc2019 import write_megc2019
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.train.experiment import run_experiment
from mer4d.train.pretrain_stage import CHECKPOINT, RECONSTRUCTION, run_pretrain_stage
from mer4d.train.pretrained import SEEN_SUBJECTS, qualified_subjects

FINE_TUNING = ("casme2_moext", "samm_moext", "casme3_moext", "megc2019_moext")
TINY_NET = ["preprocess.size=28", "model.params.width=4", "model.params.feature_dim=8"]


@pytest.mark.parametrize("name", FINE_TUNING)
def test_fine_tuning_published_settings_are_the_papers(name):
    r = load_recipe(REPO / "recipes" / f"{name}.yaml", profile="published").recipe
    assert (r.preprocess.size, r.train.batch_size, r.train.epochs, r.train.optimizer, r.train.lr, r.train.weight_decay) == (224, 20, 30, "adam", 1e-4, 1e-4)
    assert (r.model.name, r.sampling.strategy, r.protocol.kind, r.train.loss.name) == ("moext", "onset_apex", "loso", "ce")
    disjoint = "pretrain:moext_pretrain_casme2" if name == "casme3_moext" else "pretrain:moext_pretrain"
    assert r.model.params["init"] == disjoint


def test_pretraining_published_settings_are_the_papers():
    r = load_recipe(REPO / "recipes" / "moext_pretrain.yaml", profile="published").recipe
    p = r.pretrain
    assert r.stage == "pretrain" and (r.dataset.name, r.dataset.kind, r.dataset.pseudo_apex) == ("casme3", "all", 4)
    assert (r.preprocess.size, p.batch_size, p.epochs, p.lr, p.weight_decay, p.views, p.alpha_st, p.alpha_oa) == (224, 20, 30, 1e-4, 1e-4, 3, 0.5, 1.0)
    assert 0.2 <= p.margin <= 0.5
    assert load_recipe(REPO / "recipes" / "moext_pretrain_casme2.yaml", profile="published").recipe.dataset.name == "casme2"


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim")
    casme3 = write_casme3(base / "casme3", seed=0, progress=False, subjects=3, clips_per_subject=2, macro_per_subject=2, size_px=32)
    composite = write_megc2019(base / "megc2019", seed=0, progress=False, size_px=32)
    return casme3, composite


def pretrain(root, *extra):
    loaded = load_recipe(REPO / "recipes" / "moext_pretrain.yaml", [f"dataset.root={root}", *TINY_NET, "pretrain.epochs=1", "pretrain.batch_size=4", *extra], profile="quick")
    return run_pretrain_stage(loaded, MlflowTracker.for_recipe(loaded.recipe), progress=False)


def fine_tune(root, *extra):
    loaded = load_recipe(REPO / "recipes" / "megc2019_moext.yaml", [f"dataset.root={root}", *TINY_NET, "train.epochs=1", "train.crop=24", *extra], profile="quick")
    return run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), progress=False)


def test_pretrain_then_fine_tune_records_the_checkpoint_and_never_tests_a_seen_subject(roots, store, tmp_path, monkeypatch, tiny_conv_backend):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    casme3, composite = roots
    done = pretrain(casme3)
    client = MlflowClient(store)
    pre = client.get_run(done.run_id)
    assert pre.info.status == "FINISHED" and pre.data.tags["mer4d.stage"] == "pretrain"
    assert {"pretrain_loss", "pretrain_re", "pretrain_st", "pretrain_oa"} <= set(pre.data.metrics)
    folder = client.download_artifacts(done.run_id, "", str(tmp_path / "art"))
    state = torch.load(f"{folder}/{CHECKPOINT}", weights_only=True)
    assert state["settings"]["width"] == 4 and any(k.startswith("motion.") for k in state["state"])
    seen = json.loads(open(f"{folder}/{SEEN_SUBJECTS}").read())
    assert seen["datasets"] == ["casme3"] and seen["kinds"] == {"macro": 6, "micro": 6} and len(seen["subjects"]) == 3
    image = cv2.imread(f"{folder}/{RECONSTRUCTION}")
    assert image is not None and image.shape[1] == 4 * 28 + 3 * 2  # onset | apex | reconstruction | difference

    tuned = fine_tune(composite)
    run = client.get_run(tuned.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mer4d.pretrain_run"] == done.run_id
    assert run.data.tags["mer4d.pretrain_checkpoint"] == f"runs:/{done.run_id}/{CHECKPOINT}"
    assert run.data.params["model.params.init"] == "pretrain:moext_pretrain"  # what the recipe said, beside the tag saying what it meant
    for fold in tuned.result.folds:  # the fold discipline, on what was actually tested
        assert not set(qualified_subjects(fold.table.assign(dataset="megc2019"))) & set(seen["subjects"])
    scratch = client.get_run(fine_tune(composite, "model.params.init=null").run_id)
    assert scratch.info.status == "FINISHED" and "mer4d.pretrain_run" not in scratch.data.tags


def test_a_checkpoint_that_saw_test_subjects_is_refused(roots, store, tmp_path, monkeypatch, tiny_conv_backend):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    casme3, composite = roots
    # the paper's choice: CASME II in pre-training, then the composite (which holds CASME II) in evaluation
    leaky = pretrain(casme3, f"pretrain.extra_datasets=[{{name: casme2, modality: gray, labels: own, root: {composite / 'CASME2'}}}]")
    with pytest.raises(RecipeError, match=r"tests on subject\(s\) casme2/"):
        fine_tune(composite, f"model.params.init=runs:/{leaky.run_id}")
    failed = MlflowClient(store).search_runs([MlflowClient(store).get_experiment_by_name("megc2019").experiment_id])
    assert [r.info.status for r in failed] == ["FAILED"]
