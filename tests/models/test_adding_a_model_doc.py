"""docs/adding_a_model.md's worked example registers and trains as the page says."""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO

from mer4d.data.corpus import Corpus
from mer4d.models import MODELS, build_model, model_info
from mer4d.recipes.schema import Recipe
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker

DOC = REPO / "docs" / "adding_a_model.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    return next(b for b in blocks if "register_model(" in b and "class " in b)


@pytest.fixture
def registered(monkeypatch):
    """Run the example against a copy of the registry, so 'my_net' is gone after the test."""
    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))
    exec(compile(_example(), str(DOC), "exec"), {"__name__": "doc_example"})
    return MODELS.get("my_net")


def test_the_example_registers_with_its_info_and_follows_the_contract(registered):
    info = model_info("my_net")
    assert info.kind == "torch" and info.input.layout == "B C T H W" and info.training_loss == "task" and not info.learns_aus
    assert registered.summary.startswith("My network") and registered.options() == {"width": 8}
    torch.manual_seed(0)
    model = build_model("my_net", num_classes=3, in_channels=1, width=4)
    x = torch.rand(2, 1, 4, 8, 8)
    assert model(x).shape == (2, 3) and model.forward_features(x).shape == (2, model.num_features)
    model.reset_classifier(5)
    assert model(x).shape == (2, 5)


def test_the_example_runs_through_the_protocol(registered):
    rng = np.random.default_rng(0)
    index = pd.DataFrame({"dataset": "fake", "subject": np.repeat(["a", "b"], 4), "clip_id": [f"c{i}" for i in range(8)], "kind": "micro",
                          "fps": 30.0, "onset": 0, "apex": 1, "offset": 3, "emotion": ["x", "y"] * 4})
    clips = rng.random((8, 1, 4, 8, 8), dtype=np.float32)
    corpus = Corpus("fake", index, ("x", "y"), lambda i: clips[i], "f" * 16)
    recipe = Recipe.model_validate({"name": "doc", "dataset": {"name": "fake"}, "model": {"name": "my_net", "params": {"width": 2}}, "train": {"epochs": 1}})
    result = run_protocol(recipe, corpus, MemoryTracker(), progress=False)
    assert len(result.table) == 8 and [f.name for f in result.folds] == ["subject=a", "subject=b"]


def test_the_page_lists_every_registered_model_with_its_record():
    text = DOC.read_text().split("The registered models:")[1].split("\n## ")[0]
    rows = [[c.strip().strip("`") for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| `")]
    assert sorted(r[0] for r in rows) == MODELS.names()
    for name, kind, layout, learns, loss, option in rows:
        info = model_info(name)
        assert kind == info.kind and (learns == "yes") == info.learns_aus, name
        assert loss == (info.training_loss if info.kind == "torch" else "—"), name
        assert option == (info.multilabel_option or "—"), name
        named = {"CLIPS": "B C T H W", "IMAGES": "B C H W"}
        assert info.input.layout == named[layout] if layout in named else layout.startswith(str(info.input)), name
