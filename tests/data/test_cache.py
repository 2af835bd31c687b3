"""The cache module: simulated datasets generated once, atomically; content-addressed array entries."""

import logging
import subprocess
import sys

import numpy as np
import pytest

import mer4d.synth.writers as writers
from mer4d.data.cache import ArrayCache, cache_dir, cache_key
from mer4d.pipeline import simulated_dataset


def test_generated_once_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))
    calls = []

    def fake_writer(out, size, seed, **options):
        calls.append(out)
        (out / "labels.txt").write_text(f"{size} {seed}")

    monkeypatch.setitem(writers.WRITERS, "4dme", fake_writer)
    first = simulated_dataset("4dme", "quick", 0)
    second = simulated_dataset("4dme", "quick", 0)
    assert first == second and len(calls) == 1 and first.parent == cache_dir() / "sim"
    assert (first / "labels.txt").read_text() == "quick 0" and (first / ".complete").exists()


def test_4dme_simulator_options_from_a_recipe_reach_the_writer_and_the_cache_key(tmp_path, monkeypatch):
    from mer4d.pipeline.source import locate
    from mer4d.recipes.load import load_recipe

    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))
    seen = []

    def fake_writer(out, size, seed, **options):
        seen.append(options)

    monkeypatch.setitem(writers.WRITERS, "4dme", fake_writer)
    default = locate(load_recipe("recipes/4dme_ccdn.yaml").recipe.dataset).root
    sides_off = locate(load_recipe("recipes/4dme_ccdn.yaml", ["dataset.simulator.params.unilateral=false"]).recipe.dataset).root
    old = locate(load_recipe("recipes/4dme_ccdn.yaml", ["dataset.simulator.params.label_rules=reconstruction"]).recipe.dataset).root
    assert seen == [{}, {"unilateral": False}, {"label_rules": "reconstruction"}]
    assert len({default, sides_off, old}) == 3
    assert sides_off.name == f"4dme-quick-seed0-unilateralFalse-v{writers.SIMULATOR_VERSION}"
    assert writers.SIMULATOR_VERSION >= 6  # 6: labels from the 4DME paper's Table 4; older caches are not reused


def test_a_crash_while_writing_leaves_no_dataset_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))

    def broken_writer(out, size, seed, **options):
        (out / "half.txt").write_text("partial")
        raise RuntimeError("power cut")

    monkeypatch.setitem(writers.WRITERS, "4dme", broken_writer)
    with pytest.raises(RuntimeError, match="power cut"):
        simulated_dataset("4dme", "quick", 0)
    assert [p.name for p in (tmp_path / "sim").iterdir() if not p.name.endswith(".lock")] == []


def test_data_synth_and_show_cli(tmp_path):
    out = tmp_path / "sim"
    run = subprocess.run([sys.executable, "-m", "mer4d", "data", "synth", "--kind", "4dme", "--out", str(out), "--subjects", "2", "--seed", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (out / "4DME_Labelling_Micro_release v1.xlsx").exists()
    again = subprocess.run([sys.executable, "-m", "mer4d", "data", "synth", "--kind", "4dme", "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "is not empty" in again.stderr
    png = tmp_path / "sheet.png"
    show = subprocess.run([sys.executable, "-m", "mer4d", "data", "show", "--root", str(out), "--out", str(png)], capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_array_cache_keys_follow_every_part_and_bad_entries_are_remade(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))
    store = ArrayCache("things", version=1)
    key = store.key(files=[["a.jpg", 10, 5]], crop=40)
    assert key == store.key(crop=40, files=[["a.jpg", 10, 5]])  # order of parts does not matter
    assert key != store.key(files=[["a.jpg", 11, 5]], crop=40) != ArrayCache("things", version=2).key(files=[["a.jpg", 10, 5]], crop=40)
    assert key != cache_key("other", 1, files=[["a.jpg", 10, 5]], crop=40)
    made = []

    def make():
        made.append(1)
        return {"x": np.arange(6.0)}

    np.testing.assert_array_equal(store.get_or_make(key, make)["x"], np.arange(6.0))
    np.testing.assert_array_equal(store.get_or_make(key, make)["x"], np.arange(6.0))
    assert len(made) == 1 and not list(store.folder.glob(".tmp-*"))
    store.path(key).write_bytes(store.path(key).read_bytes()[:40])  # truncated, as after a full disk
    with caplog.at_level(logging.WARNING):
        np.testing.assert_array_equal(store.get_or_make(key, make)["x"], np.arange(6.0))
    assert len(made) == 2 and "cannot be read" in caplog.text and key in caplog.text

    def reject(arrays):
        raise ValueError("wrong shape")

    assert store.load(key, check=reject) is None and store.peek(key, ["x"])["x"].shape == (6,)
