"""The simulated 4DME dataset: layout read back by the real loader, labels, determinism."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets.fourdme import scan
from mer4d.data.readers import read_depth, read_mesh_seq
from mer4d.labels.au_emotion import FOURDME_RECONSTRUCTION_RULES, emotions_from_aus, parse_emotions
from mer4d.labels.aus import parse_aus
from mer4d.synth.writers.fourdme import write_fourdme

MICRO = "4DME_Labelling_Micro_release v1.xlsx"
SMALL = dict(subjects=2, micro_per_subject=2, seed=4, progress=False)  # seed 4: a unilateral clip (L12) and a static AU12


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("sim"), **SMALL)


@pytest.fixture(scope="module")
def sim_bilateral(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("sim_bilateral"), unilateral=False, **SMALL)


def sides(cell):
    return [t.side for t in parse_aus(cell) if t.side]


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(sim, tmp_path):
    again = write_fourdme(tmp_path / "again", **SMALL)
    assert digest(sim) == digest(again)
    other = write_fourdme(tmp_path / "other", subjects=2, micro_per_subject=1, seed=5, progress=False)
    assert (other / MICRO).read_bytes() != (sim / MICRO).read_bytes()


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
    sheet = pd.read_excel(sim / MICRO)
    for aus, emotion in zip(sheet["AUs"], sheet["Emotion"], strict=True):
        assert tuple(parse_emotions(emotion)) == emotions_from_aus(aus)  # the paper's Table 4 (the default)
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


def test_unilateral_false_makes_every_au_bilateral_and_keeps_every_label(sim, sim_bilateral):
    one_sided, both = pd.read_excel(sim / MICRO), pd.read_excel(sim_bilateral / MICRO)
    assert any(sides(cell) for cell in one_sided["AUs"])  # the default draws unilateral AUs
    assert not any(sides(cell) for cell in both["AUs"])
    assert list(both["Emotion"]) == list(one_sided["Emotion"])  # same draws, clip by clip; only the sides went
    assert [c.replace("L", "AU").replace("R", "AU") for c in one_sided["AUs"]] == list(both["AUs"])
    assert list(both["Onset"]) == list(one_sided["Onset"])


def test_label_rules_option_picks_the_table(tmp_path, sim):
    old = write_fourdme(tmp_path / "old", label_rules="reconstruction", **SMALL)
    new, rebuilt = pd.read_excel(sim / MICRO), pd.read_excel(old / MICRO)
    assert list(rebuilt["AUs"]) == list(new["AUs"])
    for aus, emotion in zip(rebuilt["AUs"], rebuilt["Emotion"], strict=True):
        assert tuple(parse_emotions(emotion)) == emotions_from_aus(aus, FOURDME_RECONSTRUCTION_RULES)
    assert list(rebuilt["Emotion"]) != list(new["Emotion"])  # seed 4 holds clips the two tables label differently


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"label_rules": "papr"}, r"label_rules: unknown 4DME label rules 'papr' \(did you mean 'paper'\?\)"),
        ({"label_rules": "4dme"}, "expected one of 'paper', 'reconstruction'"),
        ({"unilateral": "no"}, r"unilateral: expected true or false, got 'no'"),
        ({"unilateral": 0}, "unilateral: expected true or false"),
    ],
)
def test_bad_writer_options_fail_before_writing(tmp_path, options, match):
    with pytest.raises(DataError, match=match):
        write_fourdme(tmp_path / "out", subjects=2, micro_per_subject=1, progress=False, **options)
    assert not (tmp_path / "out").exists()
