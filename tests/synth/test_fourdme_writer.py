"""The simulated 4DME dataset: layout read back by the real loader, labels, determinism."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from mer4d.data.datasets.fourdme import scan
from mer4d.data.readers import read_depth, read_mesh_seq
from mer4d.labels.au_emotion import emotions_from_aus, parse_emotions
from mer4d.synth.writers.fourdme import write_fourdme


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("sim"), subjects=2, micro_per_subject=2, seed=3, progress=False)


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(sim, tmp_path):
    again = write_fourdme(tmp_path / "again", subjects=2, micro_per_subject=2, seed=3, progress=False)
    assert digest(sim) == digest(again)
    other = write_fourdme(tmp_path / "other", subjects=2, micro_per_subject=1, seed=4, progress=False)
    assert (other / "4DME_Labelling_Micro_release v1.xlsx").read_bytes() != (sim / "4DME_Labelling_Micro_release v1.xlsx").read_bytes()


def test_loader_reads_every_row_with_no_problem(sim):
    sheet = pd.read_excel(sim / "4DME_Labelling_Micro_release v1.xlsx", dtype={"sub_ID": str})
    index, problems = scan(sim)
    assert problems == []
    micro = index[index["kind"] == "micro"]
    assert list(micro["clip_id"]) == [f"{s}/{n}" for s, n in zip(sheet["sub_ID"], sheet["fold_name"], strict=True)]
    assert list(micro["onset"]) == list(sheet["Onset"]) and list(micro["apex"]) == list(sheet["Apex"])
    assert (index["kind"] == "macro").sum() == 2 and index["fold"].notna().all()
    assert index.attrs["fold_source"] == "label file"
    for col in ("gray_dir", "rgb_dir", "depth_dir", "mesh_dir"):
        assert micro[col].notna().all()


def test_labels_follow_the_au_rules_and_micro_events_are_short(sim):
    sheet = pd.read_excel(sim / "4DME_Labelling_Micro_release v1.xlsx")
    for aus, emotion in zip(sheet["AUs"], sheet["Emotion"], strict=True):
        assert tuple(parse_emotions(emotion)) == emotions_from_aus(aus)
    assert ((sheet["Offset"] - sheet["Onset"]) / 60.0 < 0.5).all()
    assert sheet["apex_mm"].between(0.3, 2.0).all()
    macro = pd.read_excel(sim / "4DME_Labelling_Macro_release v1.xlsx")
    assert ((macro["Offset"] - macro["Onset"]) / 60.0).between(0.5, 4.0).all()


def test_depth_and_meshes_are_in_the_documented_formats(sim):
    index, _ = scan(sim)
    row = index[index["kind"] == "micro"].iloc[0]
    depth, numbers = read_depth(row["depth_dir"])
    assert depth.shape[1] == 1 and np.nanmin(depth) > 400 and np.nanmax(depth) < 900  # mm, face at ~0.6-0.7 m
    assert np.isnan(depth).any()  # background and sensor holes
    assert numbers[0] >= row["onset"] // 2 and numbers[-1] <= row["offset"] // 2
    seq = read_mesh_seq(row["mesh_dir"])
    assert len(seq) == row["offset"] - row["onset"] + 1 and seq.colors is not None
    assert list(seq.frame_numbers) == list(range(row["onset"], row["offset"] + 1))


def test_quick_size_meets_the_minimum_and_drift_grows_with_window():
    from mer4d.synth.writers.fourdme import SIZES, head_drift

    quick = SIZES["quick"]
    assert quick.subjects >= 12 and quick.subjects * quick.micro_per_subject >= 60
    assert head_drift(40, 60.0) == pytest.approx(0.25 * (40 / 60) ** 0.5)  # ~0.2 over a micro window
    assert head_drift(260, 60.0) / head_drift(40, 60.0) == pytest.approx((260 / 40) ** 0.5)
