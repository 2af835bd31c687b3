"""The 4DME loader and `mer4d data check` on a small hand-made fixture in the real format."""

import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import DataError, RecipeError
from mer4d.data.datasets.fourdme import scan
from mer4d.pipeline import open_dataset

ROWS = [  # sub_ID, fold_name, Onset, Apex, Offset, AUs, Emotion, fold
    ("S01", "S01_1st_001_01_1", 2490, 2496, 2504, "AU4(k)+L7", "Negative", 1),
    ("S01", "S01_1st_002_01_1", 100, 104, 110, "AUR2+12(k)+45", "Surprise+Positive", 1),
    ("S02", "S02_1st_001_01_1", 50, "/", 60, "12", "Positive", 2),
    ("S03", "S03_2nd_004_02_1", 10, 14, 20, "AU14", "Repression", 3),
]


def write_fixture(root, rows=ROWS, apostrophes=False, preamble=True, skip_frames=()):
    columns = ["sub_ID", "fold_name", "Onset", "Apex", "Offset", "AUs", "Emotion", "fold"]
    if apostrophes:
        columns = [c + "'" if c in ("sub_ID",) else c for c in columns]
    table = pd.DataFrame(rows, columns=columns)
    with pd.ExcelWriter(root / "4DME_Labelling_Micro_release v1.xlsx") as writer:
        table.to_excel(writer, index=False, startrow=2 if preamble else 0)
    for sub, name, onset, _, offset, *_ in rows:
        folder = root / "gray_micro" / sub / name
        folder.mkdir(parents=True)
        for n in range(onset, offset + 1):
            if (sub, n) not in skip_frames:
                image = np.full((40, 32), 100 + (n - onset) * 5 % 100, np.uint8)
                cv2.imwrite(str(folder / f"Frame_{n:09d}.jpg"), image)
    return root


def test_index_matches_the_label_file_row_for_row(tmp_path):
    index, problems = scan(write_fixture(tmp_path, apostrophes=True))
    assert list(index["clip_id"]) == [f"{r[0]}/{r[1]}" for r in ROWS]
    assert list(index["onset"]) == [r[2] for r in ROWS] and list(index["offset"]) == [r[4] for r in ROWS]
    assert list(index["subject"]) == ["S01", "S01", "S02", "S03"]
    assert index.loc[0, "aus"] == ["L7"] and index.loc[0, "aus_static"] == ["AU4"]
    assert index.loc[1, "aus"] == ["R2", "AU45"] and index.loc[1, "emotions"] == ["Surprise", "Positive"]
    assert list(index["fold"]) == ["1", "1", "2", "3"] and index.attrs["fold_source"] == "label file"
    # the bad apex "/" falls back to the middle frame, reported as a warning
    assert index.loc[2, "apex"] == 55
    assert [(p.severity, p.clip) for p in problems] == [("warning", "S02/S02_1st_001_01_1")]


def test_an_invalid_fold_column_is_replaced_by_generated_subject_folds(tmp_path):
    rows = [r[:7] + (i,) for i, r in enumerate(ROWS)]  # fold differs within S01: not a subject split
    index, _ = scan(write_fixture(tmp_path, rows=rows))
    assert index.attrs["fold_source"].startswith("generated")
    assert index.groupby("subject")["fold"].nunique().max() == 1


def test_check_finds_planted_corruptions(tmp_path):
    rows = [*ROWS, ("S04", "S04_x", 30, 25, 20, "AU4", "Negative", 4), ("S05", "S05_y", 5, 6, 8, "AU4+banana", "Negative", 5),
            ("S06", "S06_z", 5, 6, 8, "AU4", "Joy", 5)]
    root = write_fixture(tmp_path, rows=[r for r in rows if r[0] not in ("S04",)], skip_frames={("S01", 2500)})
    # S04: onset > offset (no folder needed)
    table = pd.read_excel(root / "4DME_Labelling_Micro_release v1.xlsx", header=2)
    table.loc[len(table)] = list(rows[4])
    with pd.ExcelWriter(root / "4DME_Labelling_Micro_release v1.xlsx") as writer:
        table.to_excel(writer, index=False)
    from mer4d.data.datasets.fourdme import SPEC
    from mer4d.data.filecheck import check_dataset

    index, problems = check_dataset(SPEC, root, {})
    found = {(p.clip, p.severity): p.message for p in problems}
    assert "missing: 2500" in found[("S01/S01_1st_001_01_1", "fatal")]
    assert "onset 30 > offset 20" in found[("S04/S04_x", "fatal")]
    assert "banana" in found[("S05/S05_y", "fatal")]
    assert "Joy" in found[("S06/S06_z", "fatal")]
    assert "apex" in found[("S02/S02_1st_001_01_1", "warning")]
    out = subprocess.run([sys.executable, "-m", "mer4d", "data", "check", "--dataset", "4dme", "--root", str(root)], capture_output=True, text=True)
    assert out.returncode == 1 and "S05/S05_y" in out.stdout and "fatal" in out.stdout and "Traceback" not in out.stderr
    with pytest.raises(DataError, match=r"fatal problem\(s\)"):
        open_dataset("4dme", root)


def test_clean_fixture_loads_clips_and_check_exits_zero(tmp_path):
    rows = [r if r[3] != "/" else r[:3] + (55,) + r[4:] for r in ROWS]
    root = write_fixture(tmp_path, rows=rows)
    corpus = open_dataset("4dme", root, frames=6, size=16)
    clip = corpus.load_clip(0)
    assert clip.shape == (1, 6, 16, 16) and clip.dtype == np.float32 and 0 <= clip.min() <= clip.max() <= 1
    assert corpus.classes == ("Positive", "Negative", "Surprise", "Repression", "Others")
    out = subprocess.run([sys.executable, "-m", "mer4d", "data", "check", "--dataset", "4dme", "--root", str(root)], capture_output=True, text=True)
    assert out.returncode == 0 and "no problems found" in out.stdout


def test_missing_label_file_names_the_pattern(tmp_path):
    with pytest.raises(DataError, match=r"Labelling_Micro"):
        scan(tmp_path)


def test_clips_are_decoded_once_and_handed_out_as_copies(tmp_path, monkeypatch):
    import mer4d.data.readers as readers

    calls = []
    real = readers.read_frames
    monkeypatch.setattr(readers, "read_frames", lambda *a, **k: calls.append(a) or real(*a, **k))
    rows = [r if r[3] != "/" else r[:3] + (55,) + r[4:] for r in ROWS]
    corpus = open_dataset("4dme", write_fixture(tmp_path, rows=rows), frames=4, size=8)
    first = corpus.load_clip(1)
    first[:] = -1.0
    second = corpus.load_clip(1)
    assert second.min() >= 0.0  # the caller's edit did not reach the cache
    assert len(calls) == 1


def test_shuffle_labels_permutes_labels_jointly_and_keeps_counts(tmp_path):
    rows = [r if r[3] != "/" else r[:3] + (55,) + r[4:] for r in ROWS]
    root = write_fixture(tmp_path, rows=rows)
    plain, shuffled = open_dataset("4dme", root, frames=4, size=8), open_dataset("4dme", root, frames=4, size=8, shuffle_labels=True)
    a, b = plain.index, shuffled.index
    assert sorted(a["emotion"]) == sorted(b["emotion"]) and list(a["clip_id"]) == list(b["clip_id"])
    assert list(a["emotion"]) != list(b["emotion"])  # seed 0 moves labels on this fixture
    # each clip's emotion string, emotion list and AUs still belong together (one permutation)
    pairs = {(e, tuple(es), tuple(au)) for e, es, au in zip(a["emotion"], a["emotions"], a["aus"], strict=True)}
    assert {(e, tuple(es), tuple(au)) for e, es, au in zip(b["emotion"], b["emotions"], b["aus"], strict=True)} == pairs
    assert shuffled.fingerprint != plain.fingerprint and "SHUFFLED" in shuffled.description
    np.testing.assert_array_equal(plain.load_clip(2), shuffled.load_clip(2))  # clips untouched
    with pytest.raises(RecipeError, match="shuffle_labels"):
        open_dataset("4dme", root, shuffle_labels="yes")
