"""Speed settings (mer4d.train.speed): train.amp, train.channels_last, train.workers.

No GPU here: the CUDA choices are checked as decisions (which dtype, whether a GradScaler), the
CPU paths by running them against float32 / contiguous / in-process references.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from conftest import TINY, TOY_RECIPE
from pydantic import ValidationError

from mer4d.core.errors import RecipeError
from mer4d.models import build_model
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.recipes.schema import TrainCfg
from mer4d.train.runner import run_protocol
from mer4d.train.speed import Precision, channels_last_input, to_channels_last
from mer4d.train.tracker import MemoryTracker

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_amp_settings_read_true_as_fp16_and_refuse_others():
    assert TrainCfg().amp == "fp16"  # as before: mixed precision on CUDA by default
    assert TrainCfg(amp=True).amp == "fp16" and TrainCfg(amp=False).amp is False and TrainCfg(amp="bf16").amp == "bf16"
    assert TrainCfg(amp="off").amp is False
    with pytest.raises(ValidationError, match="fp16"):
        TrainCfg(amp="fp32")
    assert load_recipe(TOY_RECIPE, ["train.amp=bf16"]).recipe.train.amp == "bf16"


def test_precision_fp16_on_cuda_only_with_a_scaler_bf16_without_one(monkeypatch):
    assert Precision.of("fp16", CUDA) == Precision(torch.float16, True)
    assert Precision.of("fp16", CPU) == Precision()  # float16 CPU kernels are slow: off, as before
    assert Precision.of(False, CUDA) == Precision.of(False, CPU) == Precision()
    assert Precision.of("bf16", CPU) == Precision(torch.bfloat16, False)  # asked for explicitly: honoured on the CPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert Precision.of("bf16", CUDA) == Precision(torch.bfloat16, False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "an old GPU")
    with pytest.raises(RecipeError, match="no bfloat16 support; use train.amp=fp16"):
        Precision.of("bf16", CUDA)
    assert not Precision().grad_scaler(CPU).is_enabled()


def test_bf16_autocast_runs_the_convolutions_in_bfloat16_on_the_cpu():
    conv = torch.nn.Conv3d(1, 2, 3)
    x = torch.randn(1, 1, 4, 6, 6)
    with Precision.of("bf16", CPU).autocast(CPU):
        assert conv(x).dtype == torch.bfloat16
    with Precision.of("fp16", CPU).autocast(CPU):
        assert conv(x).dtype == torch.float32


@pytest.mark.parametrize(("name", "params", "shape"), [
    ("tiny3d", {"width": 4, "dropout": 0.0}, (2, 1, 4, 16, 16)),  # 3-D convolutions, GroupNorm
    ("googlenet", {"width": 0.125, "dropout": 0.0}, (8, 3, 40, 40)),  # 2-D convolutions, BatchNorm (batch statistics)
])
def test_channels_last_gives_the_same_outputs_and_gradients_up_to_float32_rounding(name, params, shape, tiny_conv_backend):
    # The reference is float64 (contiguous): channels-last float32 must be as close to it as
    # contiguous float32 is (within 4x, or 1e-6 relative), in the output and the gradients.
    torch.manual_seed(0)
    models = {k: build_model(name, num_classes=3, in_channels=shape[1], **params) for k in ("fp64", "fp32", "channels_last")}
    for k in ("fp32", "channels_last"):
        models[k].load_state_dict(models["fp64"].state_dict())
    models["fp64"].double()
    to_channels_last(models["channels_last"])
    fmt = torch.channels_last_3d if len(shape) == 5 else torch.channels_last
    convs = [m.weight for m in models["channels_last"].modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Conv3d)]
    assert convs and all(w.is_contiguous(memory_format=fmt) for w in convs)
    x = torch.randn(*shape)
    xl = channels_last_input(x, "B C T H W" if len(shape) == 5 else "B C H W")
    assert xl.is_contiguous(memory_format=fmt) and torch.equal(xl, x)
    outputs = {k: models[k].train()(x.double() if k == "fp64" else xl if k == "channels_last" else x) for k in models}
    for out in outputs.values():
        out.square().sum().backward()

    def error(a, b) -> float:
        return float((a.detach().double() - b.detach()).norm() / b.detach().norm())

    # the output, and all gradients as one vector (a single small tensor, e.g. a BatchNorm weight
    # summing thousands of cancelling terms, is rounding-dominated in either layout)
    grads = {k: torch.cat([p.grad.flatten() for p in m.parameters()]) for k, m in models.items()}
    assert error(outputs["channels_last"], outputs["fp64"]) <= max(4 * error(outputs["fp32"], outputs["fp64"]), 1e-6)
    assert error(grads["channels_last"], grads["fp64"]) <= max(4 * error(grads["fp32"], grads["fp64"]), 1e-6)


def test_channels_last_leaves_other_layouts_alone():
    views = torch.randn(2, 3, 4, 8, 8)  # CCDN's B V C H W: V is not the convolutions' channel axis
    assert channels_last_input(views, "B V C H W") is views


def toy(*extra):
    recipe = load_recipe(TOY_RECIPE, [*TINY, "train.epochs=2", "train.batch_size=5", "train.device=cpu", *extra]).recipe
    return run_protocol(recipe, load_corpus(recipe), MemoryTracker(), progress=False).table


def test_workers_give_the_same_training_result_as_loading_in_process():
    # hflip, crop and uniform resampling draw from generators: parallel loading must not shift them
    settings = ("train.hflip=true", "train.crop=28", "train.resample=uniform")
    pd.testing.assert_frame_equal(toy(*settings, "train.workers=2"), toy(*settings, "train.workers=0"), check_exact=True)


def test_channels_last_and_cpu_fp16_keep_the_training_result(tiny_conv_backend):
    reference = toy("train.amp=false")
    pd.testing.assert_frame_equal(toy("train.amp=fp16"), reference, check_exact=True)  # fp16 is off on the CPU
    scores = [c for c in reference.columns if c.startswith("score_")]
    fast = toy("train.amp=false", "train.channels_last=true")
    assert (fast[scores] - reference[scores]).abs().to_numpy().max() < 1e-4


def test_bf16_on_the_cpu_trains_and_scores_every_clip():
    table = toy("train.amp=bf16")
    scores = table[[c for c in table.columns if c.startswith("score_")]].to_numpy()
    assert scores.shape[0] == len(table) and (abs(scores.sum(axis=1) - 1) < 1e-6).all()
