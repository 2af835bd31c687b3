"""Evaluation protocols: split an Index into subject-disjoint train/test folds.

Every builder returns a list of :class:`Fold` whose ``train``/``test`` are sorted int64 row
positions (0..n-1) into the Index, validated by :func:`check_folds`: each row is tested exactly once
and no subject is on both sides of a fold. A subject is identified by ``subject`` alone in a
single-dataset Index and by ``"<dataset>/<subject>"`` when the Index mixes datasets, because
datasets reuse ids such as "01" for different people.

A builder warns :class:`FoldWarning` when a class of the label column is missing from a fold's
training set: the model cannot learn that class there, which is legal but worth knowing.

Two exceptions, each asked for explicitly: ``split_column`` with ``train_only`` values (a dataset's
official split, e.g. DFME's training sheet vs Test A / Test B) leaves those rows untested, and
``sample_kfold`` (the DFME paper's clip-level 10-fold) lets a subject's clips fall on both sides;
its folds are built with ``subject_overlap=True`` and runs using it are tagged as such.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError, ProtocolError, ShapeError
from mer4d.core.registry import did_you_mean


@dataclass(frozen=True)
class Fold:
    """One train/test split.

    Attributes:
        name: unique within a protocol, e.g. ``"subject=sub01"``, ``"fold=2"``, ``"dataset=casme2"``.
        train: (n_train,) sorted int64 row positions into the Index (read-only).
        test: (n_test,) sorted int64 row positions into the Index (read-only).
    """

    name: str
    train: np.ndarray
    test: np.ndarray

    def __post_init__(self) -> None:
        for field in ("train", "test"):
            arr = np.asarray(getattr(self, field))
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
                raise ShapeError(f"Fold {self.name!r}: {field} must be a 1-D integer array of row positions, got shape {arr.shape} dtype {arr.dtype}")
            arr = np.sort(arr.astype(np.int64))
            # frozen should mean frozen: a caller mutating the positions would corrupt every later use
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fold):
            return NotImplemented
        return self.name == other.name and np.array_equal(self.train, other.train) and np.array_equal(self.test, other.test)

    def __hash__(self) -> int:
        return hash((self.name, self.train.tobytes(), self.test.tobytes()))

    def __repr__(self) -> str:
        return f"Fold(name={self.name!r}, train={self.train.size} rows, test={self.test.size} rows)"


class FoldWarning(UserWarning):
    """A fold is legal but suspicious (e.g. a class absent from its training set)."""


def _require(index: Any, columns: tuple[str, ...]) -> None:
    if not isinstance(index, pd.DataFrame):
        raise DataError(f"expected the Index as a pandas DataFrame, got {type(index).__name__}")
    missing = [c for c in columns if c not in index.columns]
    if missing:
        raise DataError(f"the Index lacks column(s) {missing} needed to build folds; found {list(index.columns)}")
    if len(index) == 0:
        raise DataError("the Index has no rows; there is nothing to split into folds")


def subject_keys(index: pd.DataFrame) -> np.ndarray:
    """(n,) str subject identity per row: ``subject``, or ``dataset/subject`` in a multi-dataset Index.

    A composite that already spells its subjects ``dataset/subject`` (MEGC2019) keeps them as they are.
    """
    _require(index, ("subject",))
    subjects = index["subject"].astype(str)
    if "dataset" in index.columns and index["dataset"].nunique(dropna=False) > 1:
        prefixes = index["dataset"].astype(str) + "/"
        already = [s.startswith(p) for s, p in zip(subjects, prefixes, strict=True)]
        if not all(already):
            subjects = prefixes + subjects
    return subjects.to_numpy()


def _clip_ids(index: pd.DataFrame, positions: np.ndarray, limit: int = 5) -> str:
    ids = index["clip_id"].to_numpy()[positions] if "clip_id" in index.columns else positions
    shown = [str(i) for i in ids[:limit]]
    return f"{shown}{' ...' if len(ids) > limit else ''} ({len(ids)} rows)"


def _from_mask(name: str, test_mask: np.ndarray) -> Fold:
    return Fold(name, np.flatnonzero(~test_mask), np.flatnonzero(test_mask))


def check_folds(index: pd.DataFrame, folds: list[Fold], *, untested: np.ndarray | None = None, subject_overlap: bool = False) -> None:
    """Validate folds against the Index; raise :class:`ProtocolError` on the first problem.

    Checks: fold names are distinct; positions lie in ``0..n-1``; train and test are non-empty and
    disjoint; no subject is in both train and test of a fold (unless ``subject_overlap``); every row
    is in exactly one test set, except the rows of the (n,) bool mask ``untested``, which are in none.
    """
    n = len(index)
    keys = subject_keys(index)
    if not folds:
        raise ProtocolError("no folds were built; a protocol needs at least one fold")
    names = [f.name for f in folds]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ProtocolError(f"fold names must be distinct, duplicated: {dup}")
    for fold in folds:
        for part in (fold.train, fold.test):
            if part.size and (part[0] < 0 or part[-1] >= n):
                raise ProtocolError(f"fold {fold.name!r}: row positions must lie in 0..{n - 1}, found {part[0]}..{part[-1]}; was it built for another Index?")
        if fold.test.size == 0 or fold.train.size == 0:
            side = "test" if fold.test.size == 0 else "train"
            raise ProtocolError(f"fold {fold.name!r} has an empty {side} set; every fold needs clips on both sides")
        both = np.intersect1d(fold.train, fold.test)
        if both.size:
            raise ProtocolError(f"fold {fold.name!r}: clips {_clip_ids(index, both)} are in both train and test")
        leaked = [] if subject_overlap else sorted(set(keys[fold.train]) & set(keys[fold.test]))
        if leaked:
            raise ProtocolError(f"fold {fold.name!r}: subject(s) {leaked[:5]} appear in both train and test; folds must never split a subject")
    tested = np.bincount(np.concatenate([f.test for f in folds]), minlength=n)
    exempt = np.zeros(n, dtype=bool) if untested is None else np.asarray(untested, dtype=bool)
    if (tested[exempt] > 0).any():
        raise ProtocolError(f"clips {_clip_ids(index, np.flatnonzero(exempt & (tested > 0)))} are marked train-only but appear in a test fold")
    if ((tested == 0) & ~exempt).any():
        raise ProtocolError(f"clips {_clip_ids(index, np.flatnonzero((tested == 0) & ~exempt))} are in no test fold; every clip must be tested exactly once")
    if (tested > 1).any():
        raise ProtocolError(f"clips {_clip_ids(index, np.flatnonzero(tested > 1))} are in several test folds; every clip must be tested exactly once")


_LISTS = (list, tuple, set, frozenset, np.ndarray)


def _label_keys(index: pd.DataFrame, column: str) -> np.ndarray:
    """(n,) str label per row; a multi-label list becomes one ``a|b`` key, a null ``<missing>``."""
    return np.array(
        ["|".join(sorted(map(str, v))) if isinstance(v, _LISTS) else "<missing>" if pd.isna(v) else str(v) for v in index[column].tolist()],
        dtype=object,
    )


def _classes(values: list[Any]) -> set[str]:
    """The classes named by label cells (scalars or multi-label lists), nulls ignored."""
    out: set[str] = set()
    for v in values:
        out.update(map(str, v) if isinstance(v, _LISTS) else () if pd.isna(v) else (str(v),))
    return out


def _warn_missing_classes(index: pd.DataFrame, folds: list[Fold], label_column: str | None) -> None:
    if label_column is None or label_column not in index.columns:
        return
    labels = index[label_column].tolist()
    everything = _classes(labels)
    for fold in folds:
        missing = sorted(everything - _classes([labels[i] for i in fold.train]))
        if missing:
            warnings.warn(
                f"fold {fold.name!r}: class(es) {missing} of column {label_column!r} are absent from its training set "
                "(they occur only in its test clips), so the model cannot predict them in this fold",
                FoldWarning,
                stacklevel=4,
            )


def _finish(index: pd.DataFrame, folds: list[Fold], label_column: str | None, **checks: Any) -> list[Fold]:
    check_folds(index, folds, **checks)
    _warn_missing_classes(index, folds, label_column)
    return folds


def loso(index: pd.DataFrame, *, label_column: str | None = "emotion") -> list[Fold]:
    """Leave-one-subject-out: one fold per subject, subjects in sorted order.

    Args:
        index: the Index, n rows with at least a ``subject`` column.
        label_column: column checked for classes missing from a training set (skipped if absent).

    Returns:
        one :class:`Fold` per subject, named ``"subject=<id>"``.
    """
    keys = subject_keys(index)
    subjects = sorted(set(keys))
    if len(subjects) < 2:
        raise ProtocolError(f"LOSO needs at least 2 subjects, the Index has {len(subjects)} ({subjects}); there would be nothing to train on")
    return _finish(index, [_from_mask(f"subject={s}", keys == s) for s in subjects], label_column)


def _assign_subjects(counts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy stratified assignment of S subjects to k folds.

    Args:
        counts: (S, C) clips of each class per subject.

    Returns:
        (S,) fold number of each subject; every fold gets at least one subject.
    """
    sizes = counts.sum(axis=1)
    class_totals = np.maximum(counts.sum(axis=0), 1)
    # shuffle first so the seed decides ties, then place big subjects early: they are the hard ones
    order = rng.permutation(len(sizes))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_counts = np.zeros((k, counts.shape[1]))
    assignment = np.empty(len(sizes), dtype=np.int64)
    for rank, s in enumerate(order):
        if rank < k:
            best = rank  # the k largest subjects open the k folds, so no test fold can end up empty
        else:
            costs = []
            for f in range(k):
                trial = fold_counts.copy()
                trial[f] += counts[s]
                # spread of each class's share across folds (classes weigh equally) plus size balance
                cost = (trial / class_totals).var(axis=0).sum() + (trial.sum(axis=1) / sizes.sum()).var()
                costs.append((round(float(cost), 12), fold_counts[f].sum(), f))
            best = min(costs)[2]
        assignment[s] = best
        fold_counts[best] += counts[s]
    return assignment


def subject_kfold(index: pd.DataFrame, k: int, seed: int = 0, stratify: str | None = "emotion", *, label_column: str | None = "emotion") -> list[Fold]:
    """Subject-grouped k-fold, stratified by label where the subjects allow it, deterministic by seed.

    Args:
        index: the Index (n rows).
        k: number of folds, 2 <= k <= number of subjects.
        seed: non-negative integer; the same seed always gives the same folds.
        stratify: label column to balance across folds (multi-label lists are keyed by their label
            set), or None to balance fold sizes only.
        label_column: column checked for classes missing from a training set.

    Returns:
        k folds named ``"fold=0"`` .. ``"fold=<k-1>"``; each subject is in exactly one test set.
    """
    keys = subject_keys(index)
    subjects, inverse = np.unique(keys, return_inverse=True)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ProtocolError(f"subject_kfold needs an integer k >= 2, got k={k!r}; use loso for one fold per subject")
    if k > len(subjects):
        raise ProtocolError(f"subject_kfold: k={k} folds need at least {k} subjects, but the Index has only {len(subjects)}; lower k or use loso")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ProtocolError(f"subject_kfold: seed must be a non-negative integer, got {seed!r}")
    if stratify is not None and stratify not in index.columns:
        raise ProtocolError(f"subject_kfold: stratify column {stratify!r} is not in the Index (columns {list(index.columns)}); pass stratify=None to balance sizes only")
    labels = _label_keys(index, stratify) if stratify is not None else np.zeros(len(index), dtype=object)
    _, label_ids = np.unique(labels.astype(str), return_inverse=True)
    counts = np.zeros((len(subjects), label_ids.max() + 1))
    np.add.at(counts, (inverse, label_ids), 1)
    assignment = _assign_subjects(counts, int(k), np.random.default_rng(int(seed)))
    row_fold = assignment[inverse]
    return _finish(index, [_from_mask(f"fold={f}", row_fold == f) for f in range(int(k))], label_column)


def split_column(index: pd.DataFrame, column: str, *, train_only: tuple[str, ...] | list[str] = (), label_column: str | None = "emotion") -> list[Fold]:
    """One test fold per distinct value of ``index[column]`` (a dataset-defined split).

    Args:
        index: the Index (n rows).
        column: the split column, e.g. ``"fold"``; every row needs a value and each subject one value.
        train_only: values whose rows are only ever training data (DFME's official split:
            ``["train"]``). Given, every fold trains on exactly those rows and tests one other
            value (Test A, Test B), so the test sets never train each other; those rows are untested.
        label_column: column checked for classes missing from a training set.

    Returns:
        one fold per (non-train-only) value (sorted), named ``"<column>=<value>"``.
    """
    _require(index, ("subject",))
    if column not in index.columns:
        hint = did_you_mean(column, [str(c) for c in index.columns], n=3)
        raise ProtocolError(f"split column {column!r} is not in the Index{hint} Columns: {list(index.columns)}")
    values = index[column]
    nulls = np.flatnonzero(values.isna().to_numpy())
    if nulls.size:
        raise ProtocolError(f"split column {column!r} has no value for clips {_clip_ids(index, nulls)}; fill it or choose another protocol")
    keys = subject_keys(index)
    per_subject = pd.Series(values.to_numpy()).groupby(keys).unique()
    for subject, vals in per_subject.items():
        if len(vals) > 1:
            raise ProtocolError(f"subject {subject!r} appears under {column!r} values {sorted(map(str, vals))}; a subject must lie in one split only, or its clips leak into training")
    distinct = sorted(set(values.tolist()), key=lambda v: (type(v).__name__, str(v)))
    arr = values.to_numpy()
    if train_only:
        text = arr.astype(str)
        unknown = sorted(set(map(str, train_only)) - set(text))
        if unknown:
            raise ProtocolError(f"protocol.train_only names {unknown}, which split column {column!r} never holds; its values are {sorted(map(str, distinct))}")
        train_mask = np.isin(text, [str(v) for v in train_only])
        tests = [v for v in distinct if str(v) not in set(map(str, train_only))]
        if not tests:
            raise ProtocolError(f"protocol.train_only {list(train_only)} covers every value of split column {column!r}; nothing is left to test")
        folds = [Fold(f"{column}={v}", np.flatnonzero(train_mask), np.flatnonzero(arr == v)) for v in tests]
        return _finish(index, folds, label_column, untested=train_mask)
    if len(distinct) < 2:
        raise ProtocolError(f"split column {column!r} has {len(distinct)} distinct value(s) {distinct}; at least 2 are needed so every fold has training clips")
    return _finish(index, [_from_mask(f"{column}={v}", arr == v) for v in distinct], label_column)


def sample_kfold(index: pd.DataFrame, k: int, seed: int = 0, stratify: str | None = "emotion", *, label_column: str | None = "emotion") -> list[Fold]:
    """Clip-level stratified k-fold that ignores subjects: the DFME paper's 10-fold protocol.

    A subject's clips land on both sides of a fold, so the model may recognise the person rather
    than the expression and the scores are optimistic; it exists to reproduce the paper's numbers
    and is reached only with ``protocol.kind: sample_kfold`` plus ``protocol.subject_overlap: true``.
    Within each class (``stratify`` key) the clips are shuffled by ``seed`` and dealt to the folds
    in turn, continuing where the previous class stopped, so fold sizes differ by at most one.

    Returns:
        k folds named ``"clips_fold=0"`` .. ``"clips_fold=<k-1>"``.
    """
    _require(index, ("subject",))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= len(index):
        raise ProtocolError(f"sample_kfold needs an integer 2 <= k <= {len(index)} (the clips), got k={k!r}")
    if stratify is not None and stratify not in index.columns:
        raise ProtocolError(f"sample_kfold: stratify column {stratify!r} is not in the Index (columns {list(index.columns)})")
    labels = _label_keys(index, stratify).astype(str) if stratify is not None else np.zeros(len(index), dtype=str)
    rng = np.random.default_rng(int(seed))
    row_fold = np.empty(len(index), dtype=np.int64)
    dealt = 0
    for label in sorted(set(labels)):
        rows = rng.permutation(np.flatnonzero(labels == label))
        row_fold[rows] = (dealt + np.arange(len(rows))) % k
        dealt += len(rows)
    folds = [_from_mask(f"clips_fold={f}", row_fold == f) for f in range(int(k))]
    return _finish(index, folds, label_column, subject_overlap=True)


def leave_one_dataset_out(index: pd.DataFrame, *, label_column: str | None = "emotion") -> list[Fold]:
    """Cross-dataset protocol: train on all datasets but one, test on that one.

    Returns:
        one fold per dataset (sorted), named ``"dataset=<name>"``.
    """
    _require(index, ("subject", "dataset"))
    datasets = sorted(set(index["dataset"].dropna().astype(str)))
    if len(datasets) < 2:
        raise ProtocolError(f"leave_one_dataset_out needs at least 2 datasets in the Index, found {len(datasets)} ({datasets}); combine corpora first")
    return split_column(index, "dataset", label_column=label_column)


PROTOCOLS: dict[str, Callable[..., list[Fold]]] = {
    "loso": loso,
    "subject_kfold": subject_kfold,
    "split_column": split_column,
    "leave_one_dataset_out": leave_one_dataset_out,
    "sample_kfold": sample_kfold,
}

SUBJECT_OVERLAPPING = frozenset({"sample_kfold"})  # protocols whose folds may share subjects


def make_folds(
    index: pd.DataFrame, kind: str, *, folds: int | None = None, seed: int = 0, column: str = "fold", label_column: str | None = "emotion",
    train_only: tuple[str, ...] | list[str] = (), subject_overlap: bool = False,
) -> list[Fold]:
    """Build the folds of protocol ``kind``.

    Args:
        index: the Index (n rows).
        kind: one of ``loso``, ``subject_kfold``, ``split_column``, ``leave_one_dataset_out``, ``sample_kfold``.
        folds: k for ``subject_kfold`` and ``sample_kfold`` (required there, ignored by the other kinds).
        seed: shuffling seed for ``subject_kfold`` and ``sample_kfold``.
        column: split column for ``split_column``.
        train_only: ``split_column`` values that only ever train (see :func:`split_column`).
        subject_overlap: must be True for ``sample_kfold``, whose folds share subjects: the
            caller says it knows.
        label_column: label column used to stratify ``subject_kfold`` (when present in the Index) and
            to warn about classes missing from a training set.

    Raises:
        ProtocolError: unknown kind (with suggestions), or the protocol cannot be built.
    """
    if kind not in PROTOCOLS:
        hint = did_you_mean(str(kind), list(PROTOCOLS), n=3)
        raise ProtocolError(f"unknown protocol {kind!r}{hint} Known: {', '.join(PROTOCOLS)}.")
    if kind in SUBJECT_OVERLAPPING and not subject_overlap:
        raise ProtocolError(f"protocol {kind!r} puts clips of one subject in both train and test, which inflates scores; "
                            "set protocol.subject_overlap: true to run it anyway (the run is tagged subject-overlapping), or use subject_kfold")
    if train_only and kind != "split_column":
        raise ProtocolError(f"protocol.train_only applies to protocol 'split_column' only, not {kind!r}")
    if kind in ("subject_kfold", "sample_kfold"):
        if folds is None:
            raise ProtocolError(f"protocol {kind!r} needs the number of folds: pass folds=<k> (k >= 2)")
        stratify = label_column if label_column is not None and label_column in index.columns else None
        return PROTOCOLS[kind](index, folds, seed, stratify, label_column=label_column)
    if kind == "split_column":
        return split_column(index, column, train_only=train_only, label_column=label_column)
    return PROTOCOLS[kind](index, label_column=label_column)
