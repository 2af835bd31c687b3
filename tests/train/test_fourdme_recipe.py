"""Every 4DME 2D recipe runs end to end on a (tiny) simulated 4DME dataset through MLflow."""

import pytest
from conftest import REPO
from mlflow.tracking import MlflowClient

from mer4d.recipes import load_recipe
from mer4d.synth.writers.fourdme import write_fourdme
from mer4d.tracking.mlflow_tracker import MlflowTracker
from mer4d.train.experiment import run_experiment

EMOTIONS = ("Positive", "Negative", "Surprise", "Repression", "Others")
# tiny inputs: the face crop at 24 px, 16 px training crops, width-4 networks, one epoch
SMALL = {
    "4dme_res3d": ["preprocess.size=24", "train.crop=16", "model.params.width=4"],
    "4dme_res3d_au": ["preprocess.size=24", "train.crop=16", "model.params.width=4"],
    "4dme_sca": ["preprocess.size=36", "train.crop=32", "model.params.width=4", "model.params.sca_channels=4"],
    "4dme_sca_au": ["preprocess.size=36", "train.crop=32", "model.params.width=4", "model.params.sca_channels=4"],
    "4dme_augraph": ["preprocess.size=36", "train.crop=32", "model.params.width=4", "model.params.sca_channels=4", "model.params.gcn_hidden=4"],
    "4dme_lbptop": ["preprocess.size=30", "model.params.blocks=[2,2]"],
    "4dme_lbptop_au": ["preprocess.size=30", "model.params.blocks=[2,2]"],
}


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("sim") / "4dme", subjects=3, micro_per_subject=4, seed=0, progress=False)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_4dme_2d_recipe_on_a_tiny_simulated_4dme(name, tiny_root, store, tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))  # the face cache starts empty
    overrides = [f"dataset.root={tiny_root}", "train.epochs=1", "dataset.au_min_clips=1", *SMALL[name]]
    loaded = load_recipe(REPO / "recipes" / f"{name}.yaml", overrides, profile=None if "lbptop" in name else "quick")
    tracked = run_experiment(loaded, MlflowTracker.for_recipe(loaded.recipe), progress=False)
    run = MlflowClient(store).get_run(tracked.run_id)
    classes = tracked.result.classes
    if name.endswith("_au"):
        assert all(c.startswith("AU") for c in classes) and len(classes) >= 2
    else:
        assert classes == EMOTIONS
    assert all(f"f1_{c}" in run.data.metrics and f"acc_{c}" in run.data.metrics for c in classes)
    assert 0.0 <= run.data.metrics["macro_f1"] <= 1.0 and len(tracked.result.table) == 12
    assert run.info.status == "FINISHED" and "faces aligned to" in run.data.tags["mer4d.dataset"]
