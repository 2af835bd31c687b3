"""tools/bench_models.py measures what it says on a tiny model and a tiny DFME layout."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

from mer4d.recipes import load_recipe
from mer4d.synth.writers.dfme import write_dfme

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("bench_models", REPO / "tools" / "bench_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = load_script()


def test_model_rows_cover_both_sizes_with_the_quick_recipe_options(monkeypatch):
    monkeypatch.setattr(BENCH, "SIZES", {"16x16x16": (4, 16, 16), "quick 4x16x16": (4, 16, 16)})
    rows = BENCH.bench_models(["tiny3d"], repeats=1, batch_size=2)
    assert [r["input"] for r in rows] == ["16x16x16", "quick 4x16x16"]
    assert all(r["train"] > 0 and r["infer"] > 0 and math.isfinite(r["train"]) for r in rows)
    quick = load_recipe(REPO / "recipes" / "dfme_d3d.yaml", profile="quick").recipe.model.params
    assert BENCH.quick_options("d3d") == quick and BENCH.quick_options("tiny3d") == {}


def test_pipeline_timing_reads_every_clip_cold_then_warm(tmp_path):
    root = write_dfme(tmp_path / "dfme", seed=0, progress=False, subjects=2, clips_per_subject=1, size_px=16)
    cold, warm, n = BENCH.bench_pipeline(4, 16, root, clips=3)
    assert n == 3 and cold > 0 and warm > 0


def test_the_table_has_cuda_columns_that_say_no_cuda_without_a_gpu(monkeypatch, capsys):
    import sys

    import torch

    monkeypatch.setattr(BENCH, "SIZES", {"quick 4x16x16": (4, 16, 16)})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["bench_models.py", "--models", "tiny3d", "--repeats", "1", "--skip-pipeline"])
    BENCH.main()
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    assert all(f"CUDA train clips/s, {mode}" in header for mode in BENCH.CUDA_MODES)
    (row,) = [line for line in lines if line.startswith("| tiny3d")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-len(BENCH.CUDA_MODES):] == ["no CUDA"] * len(BENCH.CUDA_MODES) and float(cells[4]) > 0


def test_a_model_that_does_not_eat_clips_is_refused_by_name():
    import subprocess

    out = subprocess.run([sys.executable, str(REPO / "tools" / "bench_models.py"), "--models", "ccdn", "--skip-pipeline"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--models ccdn" in out.stderr and "res3d" in out.stderr and "Traceback" not in out.stderr
