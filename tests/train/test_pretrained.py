"""The fold discipline of two-stage methods: a fine-tuning run refuses any fold whose test subjects
its checkpoint's pre-training saw, before anything is trained."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TOY_RECIPE

from mer4d.core.errors import RecipeError
from mer4d.data.protocols import Fold
from mer4d.pipeline import load_corpus
from mer4d.recipes import load_recipe
from mer4d.train.pretrained import Pretrained, check_unseen, local_pretrained, qualified_subjects
from mer4d.train.runner import run_protocol
from mer4d.train.tracker import MemoryTracker


def index(rows):
    return pd.DataFrame([{"dataset": d, "subject": s} for d, s in rows])


def pretrained(*subjects):
    return Pretrained("runs:/abc", Path("x.pt"), "abc", frozenset(subjects), ("casme3",))


def test_subjects_are_qualified_by_their_dataset_once():
    keys = qualified_subjects(index([("casme2", "01"), ("megc2019", "megc2019/x"), ("casme2", "casme2/02")]))
    assert keys.tolist() == ["casme2/01", "megc2019/x", "casme2/02"]


def test_a_fold_testing_on_a_seen_subject_is_refused_with_the_subject_named():
    idx = index([("casme2", "01"), ("casme2", "02"), ("samm", "01")])
    folds = [Fold("subject=01", np.array([1, 2]), np.array([0])), Fold("subject=02", np.array([0, 2]), np.array([1]))]
    with pytest.raises(RecipeError, match=r"fold 'subject=02' tests on subject\(s\) casme2/02.*disjoint"):
        check_unseen(pretrained("casme2/02", "casme3/spNO.1"), idx, folds)
    # the same subject name in another dataset is another person
    check_unseen(pretrained("samm/02", "casme3/spNO.1"), idx, folds)
    # subjects seen in pre-training may train a fold, just never test one
    check_unseen(pretrained("samm/01"), idx, folds)


def test_run_protocol_stops_before_training_when_a_test_subject_was_seen():
    recipe = load_recipe(TOY_RECIPE, list(TINY)).recipe
    corpus = load_corpus(recipe)
    first = qualified_subjects(corpus.index)[0]
    tracker = MemoryTracker()
    with pytest.raises(RecipeError, match="saw"):
        run_protocol(recipe, corpus, tracker, progress=False, pretrained=pretrained(first))
    assert tracker.epochs == {}  # no fold started


def test_a_checkpoint_file_needs_its_seen_subjects_record(tmp_path):
    path = tmp_path / "moext_pretrain.pt"
    path.write_bytes(b"weights")
    with pytest.raises(RecipeError, match="no seen_subjects.json"):
        local_pretrained(str(path))
    (tmp_path / "seen_subjects.json").write_text(json.dumps({"datasets": ["casme3"], "subjects": ["casme3/spNO.1"]}))
    found = local_pretrained(str(path))
    assert found.subjects == {"casme3/spNO.1"} and found.datasets == ("casme3",) and found.run_id is None
    with pytest.raises(RecipeError, match="no such checkpoint file"):
        local_pretrained(str(tmp_path / "missing.pt"))
