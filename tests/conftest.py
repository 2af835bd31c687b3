"""Shared fixtures: a temporary MLflow store and tiny recipes on the in-code toy data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY_RECIPE = REPO / "recipes" / "toy_smoke.yaml"
# A smaller, faster toy run for tests that check plumbing rather than learning.
TINY = ("dataset.params.subjects=3", "dataset.params.clips_per_class=2", "train.epochs=1", "model.params.width=4")


LONG_TESTS = os.environ.get("MER4D_LONG_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    """``long`` tests (a full quick-profile training run, ~10 min on 2 cores) run only with
    MER4D_LONG_TESTS=1, which .ci/run sets for its second step, so the README test command stays short."""
    if LONG_TESTS:
        return
    skip = pytest.mark.skip(reason="a long end-to-end check (~10 min); run it with MER4D_LONG_TESTS=1 python -m pytest -m long (.ci/run does)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """An isolated SQLite MLflow store; the working directory is a fresh folder."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def tiny_conv_backend():
    """PyTorch's native CPU convolutions instead of oneDNN's for the test: oneDNN builds a kernel for
    each new convolution shape on its first call (seconds for a DenseNet's ~120 distinct shapes),
    which dominates the tests' narrow models; the native kernels start at once. Numerics are the
    same up to float rounding; full-width and slow tests keep the default backend."""
    import torch

    enabled = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False  # not mkldnn.flags(): that also sets TF32 and warns about it
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = enabled
