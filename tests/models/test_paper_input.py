"""ModelInfo.paper_input: the parameter count ``mer4d models list`` shows, and a forward at that input (slow)."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from mer4d.models import MODELS, ModelInfo, build_model, model_info
from mer4d.models.registry import paper_parameter_count

# 3 channels, 7 classes (DFME), default options; the inputs the DFME paper reports.
PAPER = {
    "res3d": ((3, 16, 224, 224), 33_169_863),
    "p3d": ((3, 16, 160, 160), 24_939_975),
    "d3d": ((3, 16, 224, 224), 11_293_703),
    "i3d": ((3, 16, 224, 224), 12_294_439),
    "moext": ((3, 2, 224, 224), 6_268_359),
}
WITH_PAPER_INPUT = [n for n in MODELS.names() if model_info(n).paper_input is not None]


def test_the_paper_models_declare_their_paper_input_and_count():
    assert sorted(WITH_PAPER_INPUT) == sorted(PAPER)
    for name, (sizes, count) in PAPER.items():
        assert model_info(name).paper_input == sizes, name
        assert paper_parameter_count(name) == count, name
    assert paper_parameter_count("tiny3d") is None


def test_models_list_prints_the_counts():
    from mer4d.cli.models import models

    out = CliRunner().invoke(models, ["list"])
    assert out.exit_code == 0, out.output
    for name, (sizes, count) in PAPER.items():
        block = out.output.split(f"\n{name} ")[1].split("\n")[:4]
        assert f"paper input {' x '.join(map(str, sizes))}: {count:,} parameters" in "\n".join(block), name


def test_paper_input_must_fit_the_layout():
    assert ModelInfo(paper_input=[3, 16, 112, 112]).paper_input == (3, 16, 112, 112)
    for bad in ((3, 16, 112), (3, 16, 0, 112), (3, 16, 112.0, 112)):
        with pytest.raises(ValueError, match="paper_input"):
            ModelInfo(paper_input=bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER))
def test_full_model_forwards_its_paper_input(name):
    torch.manual_seed(0)
    sizes, _ = PAPER[name]
    model = build_model(name, num_classes=7, in_channels=sizes[0]).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, *sizes))
    assert logits.shape == (1, 7) and torch.isfinite(logits).all()
