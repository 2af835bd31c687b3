"""CAS(ME)^3 Part A macro-expression (MaE) sheet: a hand-written sheet next to the ME fixture of real rows,
subject spellings, emotion fallbacks, kind selection, the missing-sheet error and bad rows.
The MaE format follows datasets.md §5 and loader code only (no real copy): these rows are ours."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import mer4d.data.datasets  # noqa: F401  (registers the specs)
from mer4d.core.errors import DataError
from mer4d.data.datasets import casme3, casme3_macro
from mer4d.data.spec import DATASETS
from mer4d.pipeline.build import select_kind
from mer4d.pipeline.labels import apply_scheme
from mer4d.pipeline.source import Source

REPO = Path(__file__).resolve().parents[3]
FA = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
MAE = "cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"
TREE_A = "part_A/data/part_A_split/part_A"
SPEC = DATASETS.get("casme3")
HEADER = ("sub", "seq", "onset", "apex", "offset", "emotion")
# excel row -> cells; subjects and videos of the ME fixture (spNO.1 a/e, spNO.10 f, spNO.14 J, spNO.216 e)
ROWS = [
    ("spNO.1", "a", 100, 130, 160, "happy"),  # 2: as written
    (1, "e", 500, 520, 540, "Happiness"),  # 3: sub as a number, 'happiness' -> happy
    ("10", "f", 1000, 1100, 1200, "contempt"),  # 4: sub as number text, a label outside the seven -> others
    ("spNo.14", "J", 2000, 2050, 2100, "surprise"),  # 5: another spNO spelling, Filename case
    ("spNO.216", "e", 0, 0, 30, "sad"),  # 6: onset 0 -> 1
    ("spNO.1", "a", 300, 320, 250, "fear"),  # 7: offset before onset: fatal
    ("spNO.99", "a", 10, 20, 30, "anger"),  # 8: no subject folder: fatal
    ("x1", "a", 10, 20, 30, "anger"),  # 9: not a subject: fatal
    ("spNO.10", "f", 3000, 3010, 3020, None),  # 10: no emotion: fatal
]


def write_mae(path: Path, rows=ROWS, sheet: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(list(HEADER))
    for row in rows:
        ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def make_root(tmp: Path, *, macro: bool = True) -> Path:
    """The ME fixture of real rows, empty color/depth folders for its videos, and (``macro``) the MaE sheet above."""
    root = tmp / "CASME3"
    (root / "annotation/partA").mkdir(parents=True)
    shutil.copy(REPO / "tests/fixtures/casme3" / FA, root / "annotation/partA" / FA)
    ws = openpyxl.load_workbook(root / "annotation/partA" / FA, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    names = list(rows[0])
    for r in rows[1:]:
        if r[0] is None:
            continue
        video = root / TREE_A / r[names.index("Subject")] / str(r[names.index("Filename")]).lower()
        (video / "color").mkdir(parents=True, exist_ok=True)
        (video / "depth").mkdir(exist_ok=True)
    if macro:
        write_mae(root / "annotation/partA" / MAE)
    return root


def by_clip(index: pd.DataFrame) -> dict[str, dict]:
    return {r["clip_id"]: r for r in index.to_dict("records")}


def test_macro_rows_are_read_as_written(tmp_path):
    root = make_root(tmp_path)
    index, problems = casme3.scan(root)
    macro = index[index["kind"] == "macro"]
    got = by_clip(macro)
    assert sorted(got) == ["spNO.1/a/100_macro", "spNO.1/e/500_macro", "spNO.10/f/1000_macro", "spNO.14/J/2000_macro", "spNO.216/e/0_macro"]
    tree = (root / TREE_A).resolve()
    expected = {  # clip -> subject, onset, apex, offset, emotion, video folder
        "spNO.1/a/100_macro": ("spNO.1", 100, 130, 160, "happy", "spNO.1/a"),
        "spNO.1/e/500_macro": ("spNO.1", 500, 520, 540, "happy", "spNO.1/e"),
        "spNO.10/f/1000_macro": ("spNO.10", 1000, 1100, 1200, "others", "spNO.10/f"),
        "spNO.14/J/2000_macro": ("spNO.14", 2000, 2050, 2100, "surprise", "spNO.14/j"),
        "spNO.216/e/0_macro": ("spNO.216", 1, 1, 30, "sad", "spNO.216/e"),
    }
    for clip, (subject, onset, apex, offset, emotion, video) in expected.items():
        r = got[clip]
        assert (r["subject"], r["onset"], r["apex"], r["offset"], r["emotion"]) == (subject, onset, apex, offset, emotion)
        assert r["dataset"] == "casme3" and r["kind"] == "macro" and r["fps"] == 30.0 and r["aus"] == [] and r["objective_class"] is None
        assert Path(r["frames_dir"]) == tree / video / "color" and Path(r["depth_dir"]) == tree / video / "depth"
        assert r["source"].startswith(f"{MAE} row ")
    # the same subject spelling as the micro rows: spNO.1 has micro and macro clips
    assert set(macro["subject"]) <= set(index.loc[index["kind"] == "micro", "subject"])
    at = {k + 2: f"{MAE} row {k + 2}" for k in range(len(ROWS))}
    fatal = sorted((p.where, p.clip) for p in problems if p.severity == "fatal" and p.where.startswith(MAE))
    assert fatal == sorted([(at[7], "spNO.1/a/300_macro"), (at[8], "spNO.99/a/10_macro"), (at[9], "x1/a/10_macro"), (at[10], "spNO.10/f/3000_macro")])
    text = {(p.where, p.severity): p.message for p in problems if p.where.startswith(MAE)}
    assert "offset 250 is before onset 300" in text[(at[7], "fatal")]
    assert "subject folder spNO.99 is missing" in text[(at[8], "fatal")]
    assert "'x1' is not a subject" in text[(at[9], "fatal")] and "no emotion label" in text[(at[10], "fatal")]
    warned = {p.where: p.message for p in problems if p.severity == "warning" and p.where.startswith(MAE)}
    assert "'Happiness'" in warned[at[3]] and "read as 'happy'" in warned[at[3]]
    assert "'contempt'" in warned[at[4]] and "read as 'others'" in warned[at[4]]
    assert "onset 0" in warned[at[6]]
    assert [p.message for p in problems if p.where == at[5] and "sub written 'spNo.14'" in p.message]
    assert [p.message for p in problems if p.where == at[5] and "'J'" in p.message]  # folder j


def test_micro_rows_are_unchanged_by_the_macro_sheet(tmp_path):
    with_macro, _ = casme3.scan(make_root(tmp_path / "with"))
    without, problems = casme3.scan(make_root(tmp_path / "without", macro=False))
    assert set(without["kind"]) == {"micro"} and not [p for p in problems if MAE in p.where or MAE in p.message]
    micro = with_macro[with_macro["kind"] == "micro"].reset_index(drop=True)
    columns = [c for c in micro.columns if c not in ("frames_dir", "depth_dir")]
    pd.testing.assert_frame_equal(micro[columns], without[columns])
    assert micro["clip_id"].tolist() == without["clip_id"].tolist()


def test_kind_selects_micro_macro_or_all(tmp_path):
    root = make_root(tmp_path)
    index, _ = casme3.scan(root)
    source = Source(SPEC, root, f"casme3 at {root}")
    micro, macro, every = (select_kind(index, k, source) for k in ("micro", "macro", "all"))
    assert (len(micro), len(macro), len(every)) == (16, 5, 21)
    assert set(micro["kind"]) == {"micro"} and set(macro["kind"]) == {"macro"}
    assert sorted(every["clip_id"]) == sorted(micro["clip_id"].tolist() + macro["clip_id"].tolist())
    # every scheme maps every label of kind=all (unknown macro labels were read as 'others'); no micro row is lost
    for name in SPEC.schemes:
        relabelled, scheme, _ = apply_scheme(every, SPEC, name)
        kept_micro, _, _ = apply_scheme(micro, SPEC, name)
        assert set(kept_micro["clip_id"]) <= set(relabelled["clip_id"]), name


def test_missing_macro_sheet_names_the_file_for_macro_and_all(tmp_path):
    root = make_root(tmp_path, macro=False)
    index, _ = casme3.scan(root)
    source = Source(SPEC, root, f"casme3 at {root}")
    assert len(select_kind(index, "micro", source)) == 16
    for kind in ("macro", "all"):
        with pytest.raises(DataError, match=rf"dataset.kind '{kind}' needs macro-expression clips, but no Part A macro-expression sheet "
                                            r"cas\(me\)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx .* in .*annotation/partA"):
            select_kind(index, kind, source)


def test_sheet_variants_and_the_me_clip_layout(tmp_path):
    root = make_root(tmp_path)
    # a second copy further down the search places and an older version: annotation/partA's copy is read, the others named
    write_mae(root / "part_A/annotation" / MAE, ROWS[:1])
    write_mae(root / "annotation" / "cas(me)3_part_A_MaE_label_JpgIndex_v1.xlsx", ROWS[:1])
    index, problems = casme3.scan(root)
    assert (index["kind"] == "macro").sum() == 5
    notes = [p for p in problems if p.clip == "" and "MaE sheet" in p.message]
    assert sorted(p.where for p in notes) == sorted([MAE, "cas(me)3_part_A_MaE_label_JpgIndex_v1.xlsx"])
    # another sheet name is read when it holds the columns; a sheet without them is a clear error
    (root / "part_A/annotation" / MAE).unlink()
    (root / "annotation" / "cas(me)3_part_A_MaE_label_JpgIndex_v1.xlsx").unlink()
    write_mae(root / "annotation/partA" / MAE, ROWS[:2], sheet="label")
    assert (casme3.scan(root)[0]["kind"] == "macro").sum() == 2
    book = openpyxl.Workbook()
    book.active.append(["Subject", "Filename", "Onset"])
    book.save(root / "annotation/partA" / MAE)
    with pytest.raises(DataError, match=r"no sheet holds the MaE columns \['sub', 'seq', 'onset', 'apex', 'offset', 'emotion'\]"):
        casme3.scan(root)
    # the ME-clip distribution has no macro clips: the sheet's rows are not read, one warning says so
    clips = tmp_path / "clips"
    (clips / "annotation").mkdir(parents=True)
    shutil.copy(REPO / "tests/fixtures/casme3" / FA, clips / "annotation" / FA)
    write_mae(clips / "annotation" / MAE)
    (clips / "Part_A_ME_clip" / "frame" / "spNO.1_a_355").mkdir(parents=True)
    index, problems = casme3.scan(clips)
    assert set(index["kind"]) == {"micro"}
    assert [p.where for p in problems if "micro clips only" in p.message] == [MAE]


def test_subject_spellings():
    subject = casme3_macro._subject
    assert [subject(c) for c in ("spNO.150", "150", "150.0", " 7 ", "spNo.3", "spno3", "SPNO.012")] == \
        ["spNO.150", "spNO.150", "spNO.150", "spNO.7", "spNO.3", "spNO.3", "spNO.12"]
    assert subject("sub1") is None and subject("") is None and subject("spNO.") is None
