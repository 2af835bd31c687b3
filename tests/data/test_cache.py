"""Simulated datasets are generated once, atomically, into MER4D_CACHE."""

import subprocess
import sys

import pytest

import mer4d.synth.writers as writers
from mer4d.data.cache import cache_dir, simulated_dataset


def test_generated_once_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))
    calls = []

    def fake_writer(out, size, seed):
        calls.append(out)
        (out / "labels.txt").write_text(f"{size} {seed}")

    monkeypatch.setitem(writers.WRITERS, "4dme", fake_writer)
    first = simulated_dataset("4dme", "quick", 0)
    second = simulated_dataset("4dme", "quick", 0)
    assert first == second and len(calls) == 1 and first.parent == cache_dir() / "sim"
    assert (first / "labels.txt").read_text() == "quick 0" and (first / ".complete").exists()


def test_a_crash_while_writing_leaves_no_dataset_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path))

    def broken_writer(out, size, seed):
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
    again = subprocess.run([sys.executable, "-m", "mer4d", "data", "synth", "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "is not empty" in again.stderr
    png = tmp_path / "sheet.png"
    show = subprocess.run([sys.executable, "-m", "mer4d", "data", "show", "--root", str(out), "--out", str(png)], capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
