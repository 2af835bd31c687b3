"""The no-leakage promise, held at the protocol runner (docs/evaluation.md).

Each test runs whole protocols on tiny corpora and records, through public seams only, what every
stage of every fold touches:

* a recording corpus: every pixel a run reads goes through ``Corpus.load_clip``;
* a spy on the model's ``forward``: training mode or not, and a digest of the weights it runs with;
* a recording tracker: fold start, each epoch's log line, fold end;
* spies on what is fitted from labels: ``engine.make_loss`` (class weights),
  ``AUGraph.set_au_cooccurrence``, and the classic model's ``fit`` / ``predict_scores``.

A clip loaded for a batch belongs to the stage of the forward that consumes that batch: a forward in
training mode is training; an evaluation forward before the fold's last epoch log is validation (what
early stopping selects on); one after it is prediction.

``tools/check_leakage_mutations.py`` breaks the code on purpose, one way at a time, and checks that
this file fails every time. Keep the imports below the only place that names where the runner's code
lives: when it moves, change these lines and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import torch

from mer4d.data.corpus import Corpus
from mer4d.data.protocols import Fold, subject_keys
from mer4d.models.au_graph import AUGraph
from mer4d.models.lbptop_svm import LBPTOPSVM
from mer4d.models.tiny3d import Tiny3D
from mer4d.pipeline import load_corpus
from mer4d.recipes.schema import Recipe
from mer4d.train import engine
from mer4d.train.runner import build_folds, run_protocol

CLASSES = ("neg", "pos", "sur")
SHAPE = (1, 4, 8, 8)  # (C, T, H, W): big enough for tiny3d, au_graph and LBP-TOP with radius 1
LBP = {"blocks": [1, 1], "radii": [1, 1, 1]}
# (dataset, subject, split value, emotion of each clip): two datasets for leave-one-dataset-out, a
# split column for split_column, and class counts that differ from subject to subject, so weights
# fitted from the wrong rows give other numbers.
SUBJECTS = (
    ("d1", "a", "s0", ["neg", "neg", "neg", "pos", "sur", "neg"]),
    ("d1", "b", "s1", ["pos", "pos", "neg", "sur", "pos", "sur"]),
    ("d2", "c", "s0", ["sur", "neg", "pos", "sur", "sur", "neg"]),
    ("d2", "d", "s1", ["neg", "pos", "sur", "pos", "neg", "pos"]),
)
# AUs per emotion (every AU also occurs without the others, so the co-occurrence graph has structure)
AUS = {"neg": ["4", "7"], "pos": ["L12", "R12"], "sur": ["1", "2", "4"]}


# --------------------------------------------------------------------------- corpora and recipes


def hand_made(subjects=SUBJECTS, seed: int = 0, copies_of: tuple[int, ...] = ()) -> Corpus:
    """A corpus from ``subjects``; ``copies_of``: row positions that get one augmented copy each
    (rows appended at the end with ``augmented_from`` = the original's position)."""
    rows = []
    for dataset, subject, split, emotions in subjects:
        for k, emotion in enumerate(emotions):
            rows.append({"dataset": dataset, "subject": subject, "clip_id": f"{subject}/{k}", "kind": "micro", "fps": 30.0, "onset": 0,
                         "apex": 1, "offset": SHAPE[1] - 1, "emotion": emotion, "emotions": [emotion], "aus": AUS[emotion], "split": split})
    index = pd.DataFrame(rows)
    index["augmented_from"] = -1
    if copies_of:
        copies = index.iloc[list(copies_of)].assign(augmented_from=list(copies_of))
        copies["clip_id"] = copies["clip_id"] + "/copy"
        index = pd.concat([index, copies], ignore_index=True)
    clips = np.random.default_rng(seed).random((len(index), *SHAPE), dtype=np.float32)
    clips.setflags(write=False)
    return Corpus("hand-made", index, CLASSES, lambda i: clips[i].copy(), f"{seed:08d}{len(copies_of):08d}")


def with_new_test_clips(corpus: Corpus, test: np.ndarray, seed: int = 99) -> Corpus:
    """``corpus`` with other pixels and other labels (emotion, emotions, AUs) on the ``test`` rows.

    Every AU still occurs elsewhere in the corpus, so the AU vocabulary, which is decided once for the
    whole dataset (docs/evaluation.md), stays the same; what changes is only the test rows' content."""
    index = corpus.index.copy()
    swap = {"neg": "sur", "pos": "neg", "sur": "sur"}  # changes the class counts of the test rows
    for position in test:
        emotion = swap[index.at[position, "emotion"]]
        index.at[position, "emotion"], index.at[position, "emotions"], index.at[position, "aus"] = emotion, [emotion], AUS[emotion]
    noise = np.random.default_rng(seed).random((len(test), *SHAPE), dtype=np.float32)
    replaced = dict(zip(test.tolist(), noise, strict=True))

    def load_clip(position: int) -> np.ndarray:
        return replaced[position].copy() if position in replaced else corpus.load_clip(position)

    return Corpus(corpus.name, index, corpus.classes, load_clip, "twin" + corpus.fingerprint[4:])


def recipe(model: str = "tiny3d", protocol: str = "loso", val: float = 0.0, task: str = "emotion", params: dict | None = None, **train) -> Recipe:
    kinds = {"loso": {}, "subject_kfold": {"folds": 2}, "split_column": {"column": "split"}, "leave_one_dataset_out": {}}
    defaults = {"tiny3d": {"width": 1}, "au_graph": {"width": 1, "sca_stages": [], "gcn_hidden": 2}, "lbptop_svm": {**LBP, "C": 1.0, "max_iter": 5000}}
    return Recipe.model_validate({
        "name": "guard", "seed": 3,
        "dataset": {"name": "hand-made", "task": task, "au_min_clips": 0},
        "model": {"name": model, "params": {**defaults[model], **(params or {})}},
        "train": {"epochs": 2, "batch_size": 4, "val_fraction": val, "patience": 5, "device": "cpu", "loss": "ce" if task == "emotion" else "bce", **train},
        "protocol": {"kind": protocol, **kinds[protocol]},
    })


# --------------------------------------------------------------------------- recording


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class Journal:
    """A Tracker (``mer4d.train.tracker.Tracker``) that also keeps every spied event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def completed_folds(self) -> dict:
        return {}

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        self.events.append(("start", number, name))

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.events.append(("epoch", epoch, dict(metrics)))

    def finish_fold(self, outcome) -> None:
        self.events.append(("finish", outcome))

    def note(self, *event) -> None:
        self.events.append(event)


@contextmanager
def spying(journal: Journal) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for cls in (Tiny3D, AUGraph):
            def forward(self, x, _original=cls.forward, **options):  # options: return_au_logits etc.
                journal.note("forward", self.training, None if self.training else weights_digest(self))
                return _original(self, x, **options)

            patch.setattr(cls, "forward", forward)
        make_loss = engine.make_loss
        patch.setattr(engine, "make_loss", lambda cfg, targets, n: journal.note("loss", np.array(targets, copy=True)) or make_loss(cfg, targets, n))
        set_graph = AUGraph.set_au_cooccurrence
        patch.setattr(AUGraph, "set_au_cooccurrence", lambda self, table: journal.note("cooccurrence", np.array(table, copy=True)) or set_graph(self, table))
        fit, score = LBPTOPSVM.fit, LBPTOPSVM.predict_scores

        def classic_fit(self, features, targets):
            out = fit(self, features, targets)
            journal.note("classic_fit", np.array(features, copy=True), np.array(targets, copy=True), self)
            return out

        patch.setattr(LBPTOPSVM, "fit", classic_fit)
        patch.setattr(LBPTOPSVM, "predict_scores", lambda self, features: journal.note("classic_score", np.array(features, copy=True)) or score(self, features))
        yield


@dataclass
class FoldRecord:
    """What one fold touched, stage by stage (clip positions in load order, repeats kept)."""

    number: int
    name: str
    train: list[int] = field(default_factory=list)
    val: list[int] = field(default_factory=list)
    test: list[int] = field(default_factory=list)
    unconsumed: list[int] = field(default_factory=list)  # loads no forward used (a classic model's features)
    epochs: list[dict] = field(default_factory=list)
    test_weights: set = field(default_factory=set)
    after_test: list[str] = field(default_factory=list)  # training activity after the first prediction batch
    loss_targets: list[np.ndarray] = field(default_factory=list)
    cooccurrence: list[np.ndarray] = field(default_factory=list)
    classic_fits: list[tuple] = field(default_factory=list)
    classic_scores: list[np.ndarray] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # the fitting and scoring events, in call order
    outcome: object = None


_FIELDS = {"epoch": "epochs", "loss": "loss_targets", "cooccurrence": "cooccurrence", "classic_fit": "classic_fits", "classic_score": "classic_scores"}


def _fold_record(window: list[tuple]) -> FoldRecord:
    start, *body = window
    record = FoldRecord(start[1], start[2])
    last_epoch = max((i for i, e in enumerate(body) if e[0] == "epoch"), default=-1)
    pending: list[int] = []
    predicting = False
    for i, (kind, *payload) in enumerate(body):
        if kind == "load":
            pending.append(payload[0])
        elif kind == "forward":
            stage = "train" if payload[0] else "val" if i < last_epoch else "test"
            getattr(record, stage).extend(pending)
            pending = []
            if stage == "test":
                predicting = True
                record.test_weights.add(payload[1])
            elif predicting:
                record.after_test.append(f"a {stage} forward")
        elif kind == "finish":
            record.outcome = payload[0]
        else:
            getattr(record, _FIELDS[kind]).append(tuple(payload) if kind == "classic_fit" else payload[-1])
            record.order.append(kind)
            if predicting and kind in ("epoch", "loss", "cooccurrence"):
                record.after_test.append(kind)
    record.unconsumed = pending
    return record


@dataclass
class Run:
    recipe: Recipe
    corpus: Corpus
    result: object
    folds: list[Fold]
    records: list[FoldRecord]
    setup: list[tuple]  # events before the first fold started

    def pairs(self) -> Iterator[tuple[Fold, FoldRecord]]:
        assert [r.name for r in self.records] == [f.name for f in self.folds], "the runner ran other folds than the protocol builds"
        yield from zip(self.folds, self.records, strict=True)


def run(recipe: Recipe, corpus: Corpus) -> Run:
    journal = Journal()

    def load_clip(position: int) -> np.ndarray:
        journal.note("load", int(position))
        return corpus.load_clip(position)

    with spying(journal):
        result = run_protocol(recipe, dataclasses.replace(corpus, load_clip=load_clip), journal, progress=False)
    setup, records, window = [], [], None
    for event in journal.events:
        if event[0] == "start":
            window = [event]
        elif window is None:
            setup.append(event)
        else:
            window.append(event)
            if event[0] == "finish":
                records.append(_fold_record(window))
                window = None
    return Run(recipe, corpus, result, build_folds(recipe, corpus), records, setup)


_CACHE: dict[tuple, Run] = {}


def cached_run(cfg: Recipe, corpus: Corpus) -> Run:
    """Several tests read the same run; each asserts its own part of it."""
    key = (cfg.model_dump_json(), corpus.fingerprint)
    if key not in _CACHE:
        _CACHE[key] = run(cfg, corpus)
    return _CACHE[key]


# --------------------------------------------------------------------------- references


def originals(index: pd.DataFrame) -> np.ndarray:
    return index["augmented_from"].to_numpy() < 0 if "augmented_from" in index else np.ones(len(index), bool)


def expected_test(index: pd.DataFrame, name: str) -> np.ndarray | None:
    """The test rows a fold name stands for, worked out from the Index alone (None for subject_kfold,
    whose grouping is the protocol's own choice)."""
    key, value = name.split("=", 1)
    if key == "subject":
        column = subject_keys(index)
    elif key in ("dataset", "split"):
        column = index[key].astype(str).to_numpy()
    else:
        return None
    return np.flatnonzero((column == value) & originals(index))


def class_ids(index: pd.DataFrame) -> np.ndarray:
    return np.array([CLASSES.index(e) for e in index["emotion"]])


def detected(aus: list[str]) -> set[str]:
    """A clip's AUs with the sides merged ('L12', 'R12' -> 'AU12'), as AU detection counts them."""
    return {f"AU{code.lstrip('LR')}" for code in aus}


def au_vocabulary(index: pd.DataFrame, min_clips: int) -> list[str]:
    """The AU detection classes by the documented dataset rule: AUs moving in more than ``min_clips``
    ORIGINAL clips of the whole dataset."""
    counts = Counter(au for aus in index["aus"][originals(index)] for au in detected(aus))
    return sorted((au for au, n in counts.items() if n > min_clips), key=lambda au: int(au[2:]))


def au_hot(index: pd.DataFrame, vocabulary: list[str]) -> np.ndarray:
    return np.array([[float(au in detected(aus)) for au in vocabulary] for aus in index["aus"]])


def rows_multiset(table: np.ndarray) -> Counter:
    table = np.asarray(table)
    return Counter(map(tuple, table.reshape(len(table), -1).tolist()))


def ids(corpus: Corpus, positions) -> list[str]:
    return [corpus.index["clip_id"].iat[int(p)] for p in sorted(set(positions))][:8]


# --------------------------------------------------------------------------- the checks


def check_fold_stages(run: Run, fold: Fold, record: FoldRecord, val: bool) -> None:
    """Training and validation from the fold's training subjects only; every test clip exactly once,
    by prediction, with one final set of weights."""
    corpus, keys = run.corpus, subject_keys(run.corpus.index)
    where = f"fold {fold.name}"
    reference = expected_test(corpus.index, fold.name)
    if reference is not None:
        assert fold.test.tolist() == reference.tolist(), f"{where}: the protocol tests {ids(corpus, fold.test)}, its name says {ids(corpus, reference)}"
    test_subjects = set(keys[fold.test])
    whole = np.flatnonzero(np.isin(keys, list(test_subjects)) & originals(corpus.index))
    assert whole.tolist() == fold.test.tolist(), f"{where}: the test set is not the whole original clips of subjects {sorted(test_subjects)}"
    seen = {"training": record.train, "validation": record.val}
    for stage, positions in seen.items():
        outside = sorted(set(positions) - set(fold.train.tolist()))
        assert not outside, f"{where}: {stage} used clips outside the fold's training set: {ids(corpus, outside)}"
        wrong = sorted(set(keys[positions]) & test_subjects) if positions else []
        assert not wrong, f"{where}: {stage} used clips of test subject(s) {wrong}"
    assert record.train, f"{where}: no training batch was recorded (the spies no longer see training)"
    if val:
        assert record.val, f"{where}: train.val_fraction > 0 but no validation batch was recorded"
        shared = set(keys[record.train]) & set(keys[record.val])
        assert not shared, f"{where}: subject(s) {sorted(shared)} are in both the inner training and the validation split"
        assert len(record.epochs) >= 1 and all("val_loss" in e for e in record.epochs), f"{where}: epochs logged without a validation loss"
    else:
        assert not record.val, f"{where}: train.val_fraction=0, yet an evaluation pass ran before training ended on {ids(corpus, record.val)}"
    assert set(record.train) | set(record.val) == set(fold.train.tolist()), f"{where}: training and validation together skip training clips"
    counts = Counter(record.test)
    assert counts == Counter(fold.test.tolist()), (f"{where}: prediction must see each test clip exactly once and nothing else; "
                                                   f"extra/repeated {ids(corpus, (counts - Counter(fold.test.tolist())).elements())}, "
                                                   f"missing {ids(corpus, (Counter(fold.test.tolist()) - counts).elements())}")
    assert len(record.test_weights) == 1, f"{where}: the test clips were scored by {len(record.test_weights)} different sets of weights"
    assert not record.after_test, f"{where}: training went on after prediction had started ({record.after_test})"
    assert not record.unconsumed, f"{where}: clips {ids(corpus, record.unconsumed)} were loaded but no model used them"
    assert sorted(record.outcome.table["clip_id"]) == sorted(corpus.index["clip_id"].iloc[fold.test]), f"{where}: the predictions table is not the test clips"


def check_no_work_before_folds(run: Run) -> None:
    """Before the first fold, the runner may read a clip (its channel count) but fits and runs nothing."""
    work = [e[0] for e in run.setup if e[0] != "load"]
    assert not work, f"before any fold started the runner already did {work}"


DEEP = [(kind, val) for kind in ("loso", "subject_kfold", "split_column", "leave_one_dataset_out") for val in (0.0, 0.5)]


def deep_run(kind: str, val: float) -> Run:
    return cached_run(recipe(protocol=kind, val=val, class_weight="balanced"), hand_made())


@pytest.mark.parametrize(("kind", "val"), DEEP, ids=[f"{k}-val{v}" for k, v in DEEP])
def test_deep_fold_stages_touch_only_their_clips(kind, val):
    result = deep_run(kind, val)
    check_no_work_before_folds(result)
    for fold, record in result.pairs():
        check_fold_stages(result, fold, record, val > 0)
    pooled = result.result.table["clip_id"]
    assert sorted(pooled) == sorted(result.corpus.index["clip_id"]) and pooled.is_unique, "the pooled predictions are not every clip exactly once"


def test_toy_dataset_loso_with_early_stopping_touches_only_training_subjects():
    toy = Recipe.model_validate({
        "name": "guard-toy", "seed": 1, "dataset": {"name": "toy", "params": {"subjects": 3, "clips_per_class": 2, "num_classes": 3}},
        "preprocess": {"size": 16}, "sampling": {"frames": 4}, "model": {"name": "tiny3d", "params": {"width": 1}},
        "train": {"epochs": 2, "batch_size": 4, "val_fraction": 0.5, "device": "cpu"}, "protocol": {"kind": "loso"},
    })
    result = run(toy, load_corpus(toy))
    check_no_work_before_folds(result)
    for fold, record in result.pairs():
        check_fold_stages(result, fold, record, val=True)


def test_augmented_copies_of_test_clips_never_train():
    corpus = hand_made(copies_of=tuple(range(0, 24, 2)))  # every other clip of every subject has a copy
    result = run(recipe(val=0.5), corpus)
    source = corpus.index["augmented_from"].to_numpy()
    for fold, record in result.pairs():
        check_fold_stages(result, fold, record, val=True)
        used = np.array(sorted(set(record.train) | set(record.val)))
        from_test = sorted(set(used[np.isin(source[used], fold.test)]))
        assert not from_test, f"fold {fold.name}: augmented copies of its test clips were trained on: {ids(corpus, from_test)}"
        assert (source[fold.test] < 0).all(), f"fold {fold.name}: augmented copies are in the test set"
        expected_copies = set(np.flatnonzero(np.isin(source, fold.train)).tolist())
        assert expected_copies <= set(used.tolist()), f"fold {fold.name}: copies of training clips were left out of training"


CLASS_WEIGHTS = [*DEEP[:2], ("loso-multilabel", 0.0), ("loso-class-balanced", 0.5)]


@pytest.mark.parametrize(("kind", "val"), CLASS_WEIGHTS, ids=[f"{k}-val{v}" for k, v in CLASS_WEIGHTS])
def test_class_weights_see_training_labels_only(kind, val):
    if kind == "loso-multilabel":
        result = run(recipe(task="emotion_multilabel", class_weight="balanced"), hand_made())
        labels = np.array([[float(c in e) for c in CLASSES] for e in result.corpus.index["emotions"]])
    elif kind == "loso-class-balanced":  # effective-number weights (algorithms.md §11) are fitted from labels too
        result = run(recipe(val=val, loss={"name": "class_balanced", "beta": 0.9}), hand_made())
        labels = class_ids(result.corpus.index)
    else:
        result = deep_run(kind, val)
        labels = class_ids(result.corpus.index)
    for fold, record in result.pairs():
        assert len(record.loss_targets) == 1, f"fold {fold.name}: the loss was built {len(record.loss_targets)} times"
        trained = sorted(set(record.train) & set(fold.train.tolist()))
        got, expected = rows_multiset(record.loss_targets[0]), rows_multiset(labels[trained])
        assert got == expected, (f"fold {fold.name}: the loss weights were fitted on {sum(got.values())} labels {dict(got)}, "
                                 f"the fold's training clips have {sum(expected.values())} {dict(expected)}")


def au_graph_run(val: float) -> Run:
    return cached_run(recipe("au_graph", val=val, epochs=1, batch_size=8), hand_made())


@pytest.mark.parametrize("val", [0.0, 0.5])
def test_au_cooccurrence_sees_training_clips_only(val):
    result = au_graph_run(val)
    index = result.corpus.index
    vocabulary = au_vocabulary(index, result.recipe.dataset.au_min_clips)
    assert vocabulary == ["AU1", "AU2", "AU4", "AU7", "AU12"]  # by hand from AUS: every AU of the corpus moves in > 0 clips
    hot = au_hot(index, vocabulary)
    for fold, record in result.pairs():
        check_fold_stages(result, fold, record, val > 0)
        assert len(record.cooccurrence) == 1, f"fold {fold.name}: the AU graph was set {len(record.cooccurrence)} times"
        table = record.cooccurrence[0]
        # the AU vocabulary is the dataset's (the same columns in every fold); the rows, the fold's training clips
        assert table.shape[1] == len(vocabulary), f"fold {fold.name}: the graph has {table.shape[1]} AUs, the dataset rule gives {vocabulary}"
        trained = sorted(set(record.train))
        assert rows_multiset(table) == rows_multiset(hot[trained]), (
            f"fold {fold.name}: the AU co-occurrence was counted over {len(table)} clips, the fold trains on {len(trained)}")


CLASSIC = ["loso", "subject_kfold", "split_column", "leave_one_dataset_out"]


def classic_run(kind: str) -> Run:
    params = {"standardize": True, "class_weight": "balanced"}
    return cached_run(recipe("lbptop_svm", protocol=kind, params=params), hand_made())


def fitted_scalers(estimator) -> list:
    """Every fitted scikit-learn scaler inside the classic model's classifier (one per binary SVM)."""
    from sklearn.preprocessing import StandardScaler

    if isinstance(estimator, StandardScaler):
        return [estimator]
    inner = [step for _, step in getattr(estimator, "steps", [])] + list(getattr(estimator, "estimators_", []))
    return [s for e in inner for s in fitted_scalers(e)]


@pytest.mark.parametrize("kind", CLASSIC)
def test_classic_model_is_fitted_on_training_rows_only(kind):
    result = classic_run(kind)
    corpus = result.corpus
    features = LBPTOPSVM(len(CLASSES), tuple(LBP["blocks"]), tuple(LBP["radii"])).features(np.stack([corpus.load_clip(i) for i in range(len(corpus))]))
    row_of = {row.tobytes(): position for position, row in enumerate(features)}
    assert len(row_of) == len(features), "two clips share a feature row; the test cannot tell them apart"
    labels = class_ids(corpus.index)
    assert all(not r.epochs and not r.train and not r.test for r in result.records), "a classic model ran epochs or forwards"
    for fold, record in result.pairs():
        where = f"fold {fold.name}"
        assert record.order == ["classic_fit", "classic_score"], f"{where}: expected one fit, then one scoring, and nothing else; got {record.order}"
        rows, targets, model = record.classic_fits[0]
        fitted_on = [row_of.get(np.asarray(r, dtype=features.dtype).tobytes(), -1) for r in rows]
        assert fitted_on == fold.train.tolist(), (f"{where}: the model was fitted on rows that are not the training clips' features: "
                                                  f"{sum(p < 0 for p in fitted_on)} rows match no clip, test clips {ids(corpus, set(fitted_on) & set(fold.test.tolist()))}")
        assert targets.tolist() == labels[fold.train].tolist(), f"{where}: the classic fit got labels that are not the training clips'"
        scalers = fitted_scalers(model.classifier)
        assert scalers, f"{where}: model.params.standardize=true, but no fitted scaler was found in the classifier"
        for scaler in scalers:  # the scaler's statistics: the training rows', not all clips'
            training = features[fold.train].astype(np.float64)
            np.testing.assert_allclose(scaler.mean_, training.mean(axis=0), rtol=1e-6, atol=1e-9, err_msg=f"{where}: scaler mean")
            np.testing.assert_allclose(scaler.var_, training.var(axis=0), rtol=1e-6, atol=1e-9, err_msg=f"{where}: scaler variance")
        scored = [row_of.get(np.asarray(r, dtype=features.dtype).tobytes(), -1) for r in record.classic_scores[0]]
        assert Counter(scored) == Counter(fold.test.tolist()), f"{where}: scoring saw other rows than each test clip once"


# The runs the counterfactual twins compare (the tiny3d one is also the resampling run below).
TWINS = {
    "tiny3d": lambda: recipe(val=0.5, class_weight="balanced", resample="uniform", epochs=3),
    "au_graph": lambda: recipe("au_graph", val=0.5, epochs=1, batch_size=8),
    "lbptop_svm": lambda: recipe("lbptop_svm", params={"standardize": True, "class_weight": "balanced"}),
}


def test_uniform_resampling_draws_training_clips_only():
    """The resampled epochs draw (with repeats) from the inner training clips only, as many draws per
    epoch as there are such clips; how evenly they spread is tests/train/test_resample.py's business."""
    result = cached_run(TWINS["tiny3d"](), hand_made())
    keys = subject_keys(result.corpus.index)
    for fold, record in result.pairs():
        inner = set(fold.train.tolist()) - set(record.val)
        assert record.val and set(record.train) <= inner, f"fold {fold.name}: resampling drew {ids(result.corpus, set(record.train) - inner)} from outside the inner training clips"
        assert not set(keys[record.train]) & set(keys[fold.test]), f"fold {fold.name}: resampling drew clips of a test subject"
        assert len(record.train) == len(record.epochs) * len(inner), f"fold {fold.name}: {len(record.train)} draws in {len(record.epochs)} epochs of {len(inner)} clips"
        assert Counter(record.test) == Counter(fold.test.tolist()), f"fold {fold.name}: prediction did not see each test clip once"


# --------------------------------------------------------------------------- counterfactual twins


def training_trace(record: FoldRecord) -> dict[str, object]:
    """Everything a fold fits or selects before prediction, comparable across two runs."""
    classic = [(hashlib.sha256(np.ascontiguousarray(rows).tobytes()).hexdigest(), targets.tolist(),
                [(s.mean_.tolist(), s.var_.tolist()) for s in fitted_scalers(model.classifier)],
                [np.asarray(getattr(e[-1] if hasattr(e, "steps") else e, "coef_", 0.0)).tolist() for e in model.classifier.estimators_])
               for rows, targets, model in record.classic_fits]
    return {
        "training draws": record.train, "validation clips": record.val, "epoch logs": record.epochs,
        "loss targets": [t.tolist() for t in record.loss_targets], "AU graph table": [t.tolist() for t in record.cooccurrence],
        "final weights": sorted(record.test_weights), "classic fit": classic,
    }


@pytest.mark.parametrize("model", list(TWINS))
def test_a_fold_trains_the_same_whatever_its_test_clips_hold(model):
    """Change the pixels and the labels of one fold's test clips: everything that fold fits or selects
    (training draws, resampling, loss weights, AU graph, early stopping, final weights) must stay
    bit-identical, whatever computes it. Only its predictions may change."""
    cfg = TWINS[model]()
    corpus = hand_made()
    fold = build_folds(cfg, corpus)[0]
    twin = with_new_test_clips(corpus, fold.test)
    assert (class_ids(twin.index)[fold.test] != class_ids(corpus.index)[fold.test]).any(), "the twin must change some test labels"
    base, other = cached_run(cfg, corpus), run(cfg, twin)
    assert base.folds[0] == other.folds[0]
    a, b = training_trace(base.records[0]), training_trace(other.records[0])
    changed = [k for k in a if a[k] != b[k]]
    assert not changed, f"fold {fold.name} trained differently when only its test clips changed: {changed}"
    scores = [r.outcome.table.filter(like="score_").to_numpy() for r in (base.records[0], other.records[0])]
    assert not np.array_equal(*scores), "the twin's test clips gave the same scores; the test clips did not reach prediction"
