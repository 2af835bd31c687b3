"""recipes/4dme_res3d.yaml runs end to end on a (tiny) simulated 4DME dataset through MLflow."""

from conftest import REPO
from mlflow.tracking import MlflowClient

from mer4d.recipes import load_recipe
from mer4d.synth.writers.fourdme import write_fourdme
from mer4d.tracking.session import run_tracked


def test_res3d_recipe_on_a_tiny_simulated_4dme(store, tmp_path):
    root = write_fourdme(tmp_path / "sim", subjects=3, micro_per_subject=3, seed=0, progress=False)
    overrides = [f"dataset.root={root}", "preprocess.size=24", "train.epochs=1", "model.params.width=4"]
    loaded = load_recipe(REPO / "recipes" / "4dme_res3d.yaml", overrides, profile="quick")
    tracked = run_tracked(loaded, progress=False)
    metrics = MlflowClient(store).get_run(tracked.run_id).data.metrics
    classes = ("Positive", "Negative", "Surprise", "Repression", "Others")
    assert all(f"f1_{c}" in metrics and f"acc_{c}" in metrics for c in classes)
    assert 0.0 <= metrics["macro_f1"] <= 1.0 and len(tracked.result.table) == 9
    assert {f"true_{c}" for c in classes} <= set(tracked.result.table.columns)
