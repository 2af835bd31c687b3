"""The toy generator: determinism, the Index contract, and a planted motion that is where it should be."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mer4d.core.errors import DataError
from mer4d.data.index import REQUIRED_COLUMNS, validate_index
from mer4d.synth.toy import CLASS_REGIONS, EMOTIONS, REGIONS, make_toy_clips


@pytest.fixture(scope="module")
def default_set():
    return make_toy_clips()


@pytest.fixture(scope="module")
def five_classes():
    return make_toy_clips(subjects=3, clips_per_class=4, num_classes=5, seed=7)


def _box(region: str, size: int) -> tuple[slice, slice]:
    top, bottom, left, right = REGIONS[region]
    return slice(round(top * size), round(bottom * size)), slice(round(left * size), round(right * size))


def test_same_arguments_give_identical_bytes(default_set):
    index, clips = default_set
    index2, clips2 = make_toy_clips()
    assert clips.tobytes() == clips2.tobytes()
    assert index.equals(index2)


def test_other_seed_differs(default_set):
    _, clips = default_set
    _, other = make_toy_clips(seed=1)
    assert clips.tobytes() != other.tobytes()


def test_adding_subjects_keeps_existing_ones(default_set):
    index, clips = default_set
    index8, clips8 = make_toy_clips(subjects=8)
    assert np.array_equal(clips8[: len(clips)], clips)
    assert index8["clip_id"].iloc[: len(index)].tolist() == index["clip_id"].tolist()


def test_shapes_dtype_and_range(default_set):
    index, clips = default_set
    assert clips.shape == (6 * 3 * 6, 1, 8, 32, 32)
    assert clips.dtype == np.float32
    assert clips.min() >= 0.0 and clips.max() <= 1.0
    assert len(index) == len(clips)


def test_other_sizes():
    index, clips = make_toy_clips(subjects=2, clips_per_class=1, num_classes=2, frames=12, size=48)
    assert clips.shape == (4, 1, 12, 48, 48)
    assert (index["offset"] <= 11).all()


def test_index_follows_the_contract(default_set):
    index, _ = default_set
    for column in (*REQUIRED_COLUMNS, "emotion", "fold"):
        assert column in index.columns
    validate_index(index)  # raises on a broken contract
    assert set(index["dataset"]) == {"toy"} and set(index["kind"]) == {"micro"}
    assert (index["fps"] == 30.0).all() and index["fold"].isna().all()
    assert index["subject"].iloc[0] == "s01" and index["clip_id"].iloc[0] == "s01_c00"
    assert index["clip_id"].is_unique
    assert ((index["onset"] < index["apex"]) & (index["apex"] < index["offset"])).all()
    assert (index["onset"] >= 0).all() and (index["offset"] <= 7).all()


def test_class_and_subject_counts(default_set):
    index, _ = default_set
    assert index["emotion"].value_counts().to_dict() == {name: 36 for name in EMOTIONS[:3]}
    assert index["subject"].value_counts().to_dict() == {f"s{s:02d}": 18 for s in range(1, 7)}
    assert index.groupby("subject")["emotion"].nunique().eq(3).all()


@pytest.mark.parametrize("fixture", ["default_set", "five_classes"])
def test_motion_is_in_the_class_region(fixture, request):
    """|frame(apex) - frame(onset)| has more energy per pixel in the class's region than in the rival one, for every clip."""
    index, clips = request.getfixturevalue(fixture)
    size = clips.shape[-1]
    for i, row in index.iterrows():
        change = (clips[i, 0, row["apex"]] - clips[i, 0, row["onset"]]) ** 2
        own = CLASS_REGIONS[EMOTIONS.index(row["emotion"])]
        rival = "brows" if own == "mouth" else "mouth"
        own_energy, rival_energy = change[_box(own, size)].mean(), change[_box(rival, size)].mean()
        assert own_energy > 1.2 * rival_energy, f"{row['clip_id']} ({row['emotion']}): {own} {own_energy:.4f} vs {rival} {rival_energy:.4f}"


def test_motion_returns_to_neutral(default_set):
    """Onset and offset frames differ only by noise and flicker: much less change than onset -> apex."""
    index, clips = default_set
    rows = np.arange(len(index))
    onset = clips[rows, 0, index["onset"]]
    apex_change = ((clips[rows, 0, index["apex"]] - onset) ** 2).sum(axis=(1, 2))
    offset_change = ((clips[rows, 0, index["offset"]] - onset) ** 2).sum(axis=(1, 2))
    assert np.median(apex_change / offset_change) > 2.0


def test_motion_is_subtle(default_set):
    """At apex, only a few pixels change by more than a small fraction of the range: no static cartoon swap."""
    index, clips = default_set
    rows = np.arange(len(index))
    change = np.abs(clips[rows, 0, index["apex"]] - clips[rows, 0, index["onset"]])
    assert (change > 0.1).mean() < 0.05


def test_subjects_look_different(default_set):
    index, clips = default_set
    mean_image = {s: clips[(index["subject"] == s).to_numpy()].mean(axis=(0, 1, 2)) for s in ("s01", "s02")}
    assert np.abs(mean_image["s01"] - mean_image["s02"]).mean() > 0.01


def test_clips_of_one_subject_and_class_are_not_copies(default_set):
    _, clips = default_set
    assert not np.array_equal(clips[0], clips[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subjects": 1}, "subjects=1 is out of range; expected at least 2 subjects"),
        ({"clips_per_class": 0}, "clips_per_class=0"),
        ({"num_classes": 6}, "between 2 and 5 classes"),
        ({"num_classes": 1}, "num_classes=1"),
        ({"frames": 3}, "at least 4 frames"),
        ({"size": 8}, "between 16 and 512"),
        ({"seed": -1}, "non-negative"),
        ({"subjects": 2.5}, "subjects must be an integer"),
        ({"frames": True}, "frames must be an integer"),
    ],
)
def test_bad_arguments_raise_data_error(kwargs, message):
    with pytest.raises(DataError, match=message):
        make_toy_clips(**kwargs)


def test_default_set_is_fast():
    best = min(_timed(make_toy_clips) for _ in range(2))
    assert best < 1.0, f"generating the default toy set took {best:.2f} s"


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
