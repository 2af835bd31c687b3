"""Shared fixtures: a temporary MLflow store and tiny recipes on the in-code toy data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY_RECIPE = REPO / "recipes" / "toy_smoke.yaml"
# A smaller, faster toy run for tests that check plumbing rather than learning.
TINY = ("dataset.params.subjects=3", "dataset.params.clips_per_class=2", "train.epochs=1", "model.params.width=4")


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """An isolated SQLite MLflow store; the working directory is a fresh folder."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
