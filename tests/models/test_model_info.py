"""ModelInfo: what each model declares at registration, and the checks that keep the declaration true."""

from __future__ import annotations

import inspect

import pytest
from click.testing import CliRunner

from mer4d.models import CLIPS, MODELS, InputSpec, ModelInfo, model_info, register_model
from mer4d.models.registry import ModelEntry


def test_every_declaration_agrees_with_its_factory():
    for name in MODELS.names():
        entry = MODELS.get(name)
        params = inspect.signature(entry.factory).parameters
        assert isinstance(entry, ModelEntry) and entry.name == name and entry.info is model_info(name)
        assert entry.info.learns_aus == ("num_aus" in params), name
        assert all(option in params for option in entry.info.input.sized_by.values()), name
        assert entry.info.multilabel_option is None or entry.info.multilabel_option in params, name
        assert "num_aus" not in entry.options() and "num_classes" not in entry.options()


def test_the_records_are_frozen():
    info = model_info("ccdn")
    with pytest.raises(AttributeError):
        info.learns_aus = True
    with pytest.raises(TypeError):
        info.input.sized_by["C"] = "width"


def _factory_without_aus(num_classes: int, in_channels: int, width: int = 4):
    """A stand-in."""


def _factory_with_aus(num_classes: int, in_channels: int, num_aus: int = 3):
    """A stand-in."""


@pytest.mark.parametrize(("info", "factory", "message"), [
    (ModelInfo(learns_aus=True), _factory_without_aus, "learns_aus=True but the factory does not take num_aus"),
    (ModelInfo(), _factory_with_aus, "learns_aus=False but the factory takes num_aus"),
    (ModelInfo(multilabel_option="multi"), _factory_without_aus, r"option\(s\) \['multi'\]"),
    (ModelInfo(input=InputSpec("B V C H W", sized_by={"C": "channels"})), _factory_without_aus, r"option\(s\) \['channels'\]"),
    (ModelInfo(), lambda in_channels, num_classes: None, r"must start with \(num_classes, in_channels"),
])
def test_a_wrong_declaration_fails_at_registration_naming_the_model(info, factory, message):
    with pytest.raises(ValueError, match=message) as caught:
        register_model("never_registered", info=info)(factory)
    assert "model 'never_registered'" in str(caught.value)
    assert "never_registered" not in MODELS


def test_model_info_refuses_impossible_records():
    with pytest.raises(ValueError, match="kind must be 'torch' or 'classic'"):
        ModelInfo(kind="sklearn")
    with pytest.raises(ValueError, match="classic model .* cannot learn AUs"):
        ModelInfo(kind="classic", learns_aus=True)
    with pytest.raises(ValueError, match="no training loss"):
        ModelInfo(kind="classic", training_loss="au_joint")


def test_input_spec_layouts():
    assert CLIPS.sample_dims == ("C", "T", "H", "W") and not CLIPS.has_views and str(CLIPS) == "(B, C, T, H, W)"
    views = model_info("ccdn").input
    assert views.has_views and views.sample_dims == ("V", "C", "H", "W") and dict(views.sized_by) == {"C": "channels"}
    for bad in ("C T H W", "B", "B C C"):
        with pytest.raises(ValueError, match="starting with B"):
            InputSpec(bad)
    with pytest.raises(ValueError, match="not dimensions after the in_channels one"):
        InputSpec("B C H W", sized_by={"C": "channels"})


def test_models_list_shows_every_model_with_its_declared_capabilities():
    from mer4d.cli.models import models

    out = CliRunner().invoke(models, ["list"])
    assert out.exit_code == 0, out.output
    blocks = {}
    for line in out.output.splitlines():
        if not line.startswith(" "):
            current = line.split()[0]
            blocks[current] = []
        blocks[current].append(line)
    assert sorted(blocks) == MODELS.names()
    for name, lines in blocks.items():
        info, text = model_info(name), "\n".join(lines)
        assert f"{info.kind} model; input {info.input}" in text
        assert ("learns AUs" in text) == info.learns_aus
        assert (f"training loss: {info.training_loss}" in text) == (info.kind == "torch")
        assert MODELS.get(name).summary in lines[0]
