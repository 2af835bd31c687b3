"""Evaluation protocols: fold invariants on random indexes, determinism, stratification, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mer4d.core.errors import DataError, ProtocolError
from mer4d.data.protocols import (
    Fold,
    FoldWarning,
    check_folds,
    leave_one_dataset_out,
    loso,
    make_folds,
    split_column,
    subject_kfold,
)

CLASSES = ["happiness", "surprise", "disgust", "repression"]
FAST = settings(max_examples=30, deadline=None)
quiet = pytest.mark.filterwarnings("ignore::mer4d.data.protocols.FoldWarning")


@st.composite
def indexes(draw, min_subjects: int = 2, max_subjects: int = 10):
    """A random Index; each subject has a dataset (one of two) and a split value (one of three)."""
    n_subjects = draw(st.integers(min_subjects, max_subjects))
    classes = CLASSES[: draw(st.integers(1, len(CLASSES)))]
    rows = []
    for s in range(n_subjects):
        dataset = draw(st.sampled_from(["casme2", "samm"]))
        split = draw(st.sampled_from(["A", "B", "C"]))
        for j in range(draw(st.integers(1, 5))):
            label = draw(st.sampled_from(classes))
            rows.append({"dataset": dataset, "subject": f"{s:02d}", "clip_id": f"{dataset}_{s}_{j}", "emotion": label, "fold": split})
    # shuffle rows so positions are not grouped by subject
    order = draw(st.permutations(range(len(rows))))
    return pd.DataFrame([rows[i] for i in order]).reset_index(drop=True)


def make_index(labels_per_subject: dict[str, list[str]], dataset: str = "toy") -> pd.DataFrame:
    rows = [
        {"dataset": dataset, "subject": s, "clip_id": f"{s}_{j}", "emotion": label}
        for s, labels in labels_per_subject.items()
        for j, label in enumerate(labels)
    ]
    return pd.DataFrame(rows)


def subject_ids(index: pd.DataFrame) -> np.ndarray:
    return (index["dataset"] + "/" + index["subject"]).to_numpy()


def assert_valid(index: pd.DataFrame, folds: list[Fold]) -> None:
    n = len(index)
    tested = np.zeros(n, dtype=int)
    subjects = subject_ids(index)
    for fold in folds:
        assert fold.test.size > 0 and fold.train.size > 0
        assert fold.train.dtype == np.int64 and fold.test.dtype == np.int64
        assert np.all(np.diff(fold.train) > 0) and np.all(np.diff(fold.test) > 0)
        np.testing.assert_array_equal(np.sort(np.concatenate([fold.train, fold.test])), np.arange(n))
        assert not set(subjects[fold.train]) & set(subjects[fold.test])
        tested[fold.test] += 1
    assert np.all(tested == 1)
    assert len({f.name for f in folds}) == len(folds)


@quiet
@FAST
@given(indexes())
def test_loso_invariants(index):
    folds = loso(index)
    assert_valid(index, folds)
    keys = sorted(set(subject_ids(index))) if index["dataset"].nunique() > 1 else sorted(set(index["subject"]))
    assert [f.name for f in folds] == [f"subject={k}" for k in keys]


@quiet
@FAST
@given(indexes(), st.data())
def test_subject_kfold_invariants_and_determinism(index, data):
    n_subjects = len(set(subject_ids(index)))
    k = data.draw(st.integers(2, n_subjects))
    seed = data.draw(st.integers(0, 2**32 - 1))
    stratify = data.draw(st.sampled_from(["emotion", None]))
    folds = subject_kfold(index, k, seed, stratify)
    assert len(folds) == k
    assert [f.name for f in folds] == [f"fold={i}" for i in range(k)]
    assert_valid(index, folds)
    assert subject_kfold(index, k, seed, stratify) == folds


@quiet
def test_subject_kfold_seed_changes_folds():
    index = make_index({f"s{i}": ["a", "b"] for i in range(12)})
    results = {tuple(tuple(f.test) for f in subject_kfold(index, 3, seed)) for seed in range(10)}
    assert len(results) > 1


def test_subject_kfold_stratifies_single_class_subjects():
    # ten subjects per class; a good split puts two of each class in each of five folds
    index = make_index({f"s{i:02d}": ["pos" if i < 10 else "neg"] * 3 for i in range(20)})
    for seed in range(5):
        for fold in subject_kfold(index, 5, seed):
            counts = index["emotion"].iloc[fold.test].value_counts()
            assert counts.get("pos", 0) == 6 and counts.get("neg", 0) == 6


def test_subject_kfold_balances_sizes_without_stratify():
    index = make_index({f"s{i}": ["a"] * (1 + i % 3) for i in range(12)})  # 24 clips
    sizes = [f.test.size for f in subject_kfold(index, 4, 0, stratify=None)]
    assert max(sizes) - min(sizes) <= 1


def test_subject_kfold_stratifies_multilabel_lists():
    index = make_index({f"s{i}": ["x"] for i in range(6)})
    index["emotions"] = [["a", "b"], ["a"], ["b", "a"], ["a"], ["b"], ["b"]]
    folds = subject_kfold(index, 3, 0, stratify="emotions", label_column="emotions")
    assert_valid(index, folds)


@pytest.mark.parametrize(
    ("k", "match"),
    [
        (5, r"k=5 folds need at least 5 subjects, but the Index has only 3"),
        (1, r"integer k >= 2, got k=1"),
        (2.0, r"integer k >= 2, got k=2\.0"),
    ],
)
def test_subject_kfold_bad_k(k, match):
    index = make_index({"s1": ["a"], "s2": ["b"], "s3": ["a"]})
    with pytest.raises(ProtocolError, match=match):
        subject_kfold(index, k, 0)


def test_subject_kfold_bad_seed_and_stratify():
    index = make_index({"s1": ["a"], "s2": ["b"], "s3": ["a"]})
    with pytest.raises(ProtocolError, match=r"seed must be a non-negative integer, got -1"):
        subject_kfold(index, 2, -1)
    with pytest.raises(ProtocolError, match=r"stratify column 'label' is not in the Index.*stratify=None"):
        subject_kfold(index, 2, 0, stratify="label")


@quiet
@FAST
@given(indexes())
def test_split_column_invariants(index):
    # a subject id is unique per dataset, so each (dataset, subject) has one split value by construction
    if index["fold"].nunique() < 2:
        with pytest.raises(ProtocolError, match="at least 2 are needed"):
            split_column(index, "fold")
        return
    folds = split_column(index, "fold")
    assert_valid(index, folds)
    assert [f.name for f in folds] == [f"fold={v}" for v in sorted(index["fold"].unique())]


@quiet
@FAST
@given(indexes())
def test_leave_one_dataset_out_invariants(index):
    if index["dataset"].nunique() < 2:
        with pytest.raises(ProtocolError, match=r"at least 2 datasets in the Index, found 1"):
            leave_one_dataset_out(index)
        return
    folds = leave_one_dataset_out(index)
    assert [f.name for f in folds] == ["dataset=casme2", "dataset=samm"]
    assert_valid(index, folds)


def test_split_column_errors():
    index = make_index({"s1": ["a", "b"], "s2": ["a"], "s3": ["b"]})
    with pytest.raises(ProtocolError, match=r"split column 'fodl' is not in the Index; did you mean 'fold'"):
        split_column(index.assign(fold=["x", "x", "y", "y"]), "fodl")
    with pytest.raises(ProtocolError, match=r"no value for clips \['s2_0'\]"):
        split_column(index.assign(fold=["x", "x", None, "y"]), "fold")
    with pytest.raises(ProtocolError, match=r"subject 's1' appears under 'fold' values \['x', 'y'\]"):
        split_column(index.assign(fold=["x", "y", "x", "y"]), "fold")


def test_subject_ids_are_per_dataset():
    # the same id "01" in two datasets is two people: LOSO must keep them apart and LODO must allow it
    index = pd.concat([make_index({"01": ["a"], "02": ["b"]}, "casme2"), make_index({"01": ["a"], "02": ["b"]}, "samm")])
    index = index.assign(clip_id=index["dataset"] + index["clip_id"]).reset_index(drop=True)
    assert [f.name for f in loso(index)] == ["subject=casme2/01", "subject=casme2/02", "subject=samm/01", "subject=samm/02"]
    assert_valid(index, leave_one_dataset_out(index))
    # a composite that spells its subjects "dataset/subject" already is not prefixed twice
    composite = index.assign(subject=index["dataset"] + "/" + index["subject"])
    assert [f.name for f in loso(composite)] == ["subject=casme2/01", "subject=casme2/02", "subject=samm/01", "subject=samm/02"]


def test_fold_warning_when_class_lives_in_one_subject():
    index = make_index({"s1": ["a", "rare"], "s2": ["a", "b"], "s3": ["b"]})
    with pytest.warns(FoldWarning, match=r"fold 'subject=s1': class\(es\) \['rare'\] of column 'emotion' are absent"):
        folds = loso(index)
    assert len(folds) == 3


def test_no_fold_warning_when_every_class_is_trained():
    index = make_index({"s1": ["a", "b"], "s2": ["a", "b"], "s3": ["b", "a"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FoldWarning)
        loso(index)
        make_folds(index, "subject_kfold", folds=3)
        make_folds(index.drop(columns="emotion"), "subject_kfold", folds=2)  # no label column: size balance, no check


def test_make_folds_dispatch_and_errors():
    index = make_index({"s1": ["a"], "s2": ["a"], "s3": ["a"]}).assign(fold=["x", "y", "y"])
    assert make_folds(index, "loso") == loso(index)
    assert make_folds(index, "subject_kfold", folds=2, seed=3) == subject_kfold(index, 2, 3)
    assert [f.name for f in make_folds(index, "split_column")] == ["fold=x", "fold=y"]
    with pytest.raises(ProtocolError, match=r"unknown protocol 'losoo'; did you mean 'loso'\?"):
        make_folds(index, "losoo")
    with pytest.raises(ProtocolError, match=r"needs the number of folds: pass folds=<k>"):
        make_folds(index, "subject_kfold")
    with pytest.raises(ProtocolError, match=r"LOSO needs at least 2 subjects, the Index has 1"):
        make_folds(index.iloc[:1], "loso")


@quiet
def test_check_folds_rejects_bad_folds():
    index = make_index({"s1": ["a", "a"], "s2": ["b"], "s3": ["b"]})  # rows: s1 s1 s2 s3
    good = loso(index)
    check_folds(index, good)
    cases = [
        ([Fold("f", [2, 3], [0, 1]), Fold("f", [0, 1], [2, 3])], r"names must be distinct"),
        ([Fold("a", [0, 1, 2], [2, 3]), Fold("b", [3], [0, 1])], r"clips \['s2_0'\] .* in both train and test"),
        ([Fold("a", [0, 2, 3], [1]), Fold("b", [1, 2, 3], [0])], r"subject\(s\) \['s1'\] appear in both train and test"),
        ([Fold("a", [2, 3], [0, 1])], r"clips \['s2_0', 's3_0'\] .* in no test fold"),
        ([Fold("a", [2, 3], [0, 1]), Fold("b", [0, 1], [2, 3]), Fold("c", [0, 1], [3])], r"clips \['s3_0'\] .* in several test folds"),
        ([Fold("a", [0, 1, 2, 3], [])], r"fold 'a' has an empty test set"),
        ([Fold("a", [0, 1], [2, 3, 9])], r"row positions must lie in 0\.\.3, found 2\.\.9"),
        ([], r"no folds were built"),
    ]
    for folds, match in cases:
        with pytest.raises(ProtocolError, match=match):
            check_folds(index, folds)


def test_fold_is_frozen_sorted_and_hashable():
    fold = Fold("x", [3, 1], np.array([2, 0], dtype=np.int32))
    np.testing.assert_array_equal(fold.train, [1, 3])
    assert fold.test.dtype == np.int64
    with pytest.raises(ValueError):
        fold.train[0] = 5
    assert fold == Fold("x", [1, 3], [0, 2]) and hash(fold) == hash(Fold("x", [1, 3], [0, 2]))
    assert fold != Fold("x", [1, 3], [0])
    assert "train=2 rows" in repr(fold)


def test_index_contract_errors():
    with pytest.raises(DataError, match=r"lacks column\(s\) \['subject'\]"):
        loso(pd.DataFrame({"clip_id": ["a", "b"]}))
    with pytest.raises(DataError, match="pandas DataFrame, got list"):
        loso([1, 2])
    with pytest.raises(DataError, match="no rows"):
        loso(make_index({"s1": ["a"]}).iloc[:0])


# --- DFME: the official split (train-only rows) and the paper's clip-level 10-fold ---


def dfme_like() -> pd.DataFrame:
    rows = []
    for split, subjects in (("train", ["s1", "s2", "s3"]), ("testA", ["s4"]), ("testB", ["s5", "s6"])):
        for s in subjects:
            for j, label in enumerate(["anger", "disgust", "disgust"]):
                rows.append({"dataset": "dfme", "subject": s, "clip_id": f"{s}_{j}", "emotion": label, "fold": split})
    return pd.DataFrame(rows)


def test_split_column_train_only_trains_every_fold_on_the_training_sheet_only():
    index = dfme_like()
    folds = make_folds(index, "split_column", column="fold", train_only=["train"])
    assert [f.name for f in folds] == ["fold=testA", "fold=testB"]
    train_rows = np.flatnonzero(index["fold"] == "train")
    for fold, value in zip(folds, ["testA", "testB"], strict=True):
        assert fold.train.tolist() == train_rows.tolist()  # Test B never trains the Test A fold
        assert fold.test.tolist() == np.flatnonzero(index["fold"] == value).tolist()
    # without train_only the same column gives three leave-one-split-out folds
    assert len(split_column(index, "fold")) == 3


def test_split_column_train_only_errors():
    index = dfme_like()
    with pytest.raises(ProtocolError, match=r"train_only names \['training'\].*values are \['testA', 'testB', 'train'\]"):
        split_column(index, "fold", train_only=["training"])
    with pytest.raises(ProtocolError, match="nothing is left to test"):
        split_column(index, "fold", train_only=["train", "testA", "testB"])
    with pytest.raises(ProtocolError, match="train_only applies to protocol 'split_column' only"):
        make_folds(index, "loso", train_only=["train"])


def test_check_folds_untested_rows_must_stay_untested():
    index = dfme_like()
    train = index["fold"].eq("train").to_numpy()
    fold = Fold("f", np.flatnonzero(train), np.flatnonzero(~train))
    check_folds(index, [fold], untested=train)
    with pytest.raises(ProtocolError, match="in no test fold"):
        check_folds(index, [fold])
    leaky = Fold("g", np.flatnonzero(~train), np.flatnonzero(train))
    with pytest.raises(ProtocolError, match="marked train-only but appear in a test fold"):
        check_folds(index, [leaky], untested=train)


def test_sample_kfold_needs_the_explicit_option_and_shares_subjects():
    index = make_index({f"s{i}": ["a"] * 6 + ["b"] * 4 for i in range(3)})
    with pytest.raises(ProtocolError, match="set protocol.subject_overlap: true"):
        make_folds(index, "sample_kfold", folds=5)
    folds = make_folds(index, "sample_kfold", folds=5, seed=3, subject_overlap=True)
    assert [f.name for f in folds] == [f"clips_fold={k}" for k in range(5)]
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(index)))  # every clip tested once
    # stratified: 18 'a' and 12 'b' clips over 5 folds -> each fold holds 3-4 'a' and 2-3 'b'
    for fold in folds:
        labels = index["emotion"].to_numpy()[fold.test]
        assert 3 <= (labels == "a").sum() <= 4 and 2 <= (labels == "b").sum() <= 3
        assert len(fold.test) == 6
    # the point of the warning: some subject is on both sides of some fold
    keys = index["subject"].to_numpy()
    assert any(set(keys[f.train]) & set(keys[f.test]) for f in folds)
    assert make_folds(index, "sample_kfold", folds=5, seed=3, subject_overlap=True) == folds
    assert make_folds(index, "sample_kfold", folds=5, seed=4, subject_overlap=True) != folds


def test_sample_kfold_bad_k():
    index = make_index({"s1": ["a", "b"], "s2": ["a"]})
    with pytest.raises(ProtocolError, match=r"2 <= k <= 3"):
        make_folds(index, "sample_kfold", folds=4, subject_overlap=True)
