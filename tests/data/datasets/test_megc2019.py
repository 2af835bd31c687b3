"""The MEGC2019 composite against its ground truth: simulated CASME II + SAMM + SMIC-HS folders laid
out after the CSV scan back to exactly the CSV, and every mismatch between CSV and folders is named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mer4d.data.datasets.megc2019 import CLASSES, GT_FILE, scan
from mer4d.synth.writers import WRITERS
from mer4d.synth.writers.megc2019 import QUICK_CLIPS, QUICK_SUBJECTS

REPO = Path(__file__).resolve().parents[3]
OFFICIAL = REPO / "mer4d" / "data" / "datasets" / "megc2019_gt.csv"


def read_csv(path: Path) -> pd.DataFrame:
    """The ground-truth CSV read plainly with pandas (no header; label 0/1/2), rows numbered from 1."""
    table = pd.read_csv(path, header=None, names=["db", "subject", "clip", "label"], dtype=str)
    return table.assign(row=range(1, len(table) + 1))


def expected_composite(table: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    """(dataset, composite subject, composite clip id, class) of each CSV row, spelled as the folders
    are (datasets.md §9: CASME II sub01 -> Subject 01; SAMM 6 -> 006; SMIC s01_ne_01 -> s1_ne_01)."""
    out = set()
    for db, subject, clip, label in table[["db", "subject", "clip", "label"]].itertuples(index=False):
        if db == "casme2":
            folder_subject, index_subject, name = subject, subject[3:], clip
        elif db == "samm":
            folder_subject = index_subject = subject.zfill(3)
            name = clip
        else:
            folder_subject = index_subject = re.sub(r"^s0*", "s", subject)
            name = re.sub(r"^s0*", "s", clip)
        out.add((db, f"{db}/{index_subject}", f"{db}/{folder_subject}/{name}", CLASSES[int(label)]))
    return out


def composite_set(index: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    return set(zip(index["dataset"], index["subject"], index["clip_id"], index["emotion"], strict=True))


@pytest.fixture(scope="module")
def quick_root(tmp_path_factory) -> Path:
    return WRITERS["megc2019"](tmp_path_factory.mktemp("megc2019") / "quick", size="quick", seed=0, progress=False)


@pytest.fixture
def copy(quick_root, tmp_path) -> Path:
    return Path(shutil.copytree(quick_root, tmp_path / "copy"))


# --- the composite is the CSV ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_composite_written_after_the_full_csv_is_exactly_the_csv(tmp_path):
    """MUST-SHOW (issue 10): all 442 official rows written (16 px frames) and scanned back."""
    root = WRITERS["megc2019"](tmp_path / "full", size="published", seed=0, progress=False, size_px=16)
    assert not (root / GT_FILE).exists()  # so the scan uses the official file, shipped
    index, problems = scan(root)
    official = read_csv(OFFICIAL)
    expected = expected_composite(official)
    print(f"official CSV: {len(official)} rows, {official.groupby('db')['subject'].nunique().to_dict()} subjects, "
          f"classes {official['label'].map(lambda v: CLASSES[int(v)]).value_counts().to_dict()}; composite: {len(index)} rows, "
          f"{index['subject'].nunique()} subjects, {len(problems)} problems")
    assert problems == []
    assert len(index) == len(official) == len(expected) == 442
    assert composite_set(index) == expected
    assert index["subject"].nunique() == 68  # 26 CASME II + 28 SAMM + 16 SMIC-HS minus nothing: as the CSV
    assert index["subject"].nunique() == official.groupby("db")["subject"].nunique().sum()


def test_the_quick_composite_is_its_subset_csv_and_says_so(quick_root):
    subset, official = read_csv(quick_root / GT_FILE), read_csv(OFFICIAL)
    # the subset's rows are official rows, in the official order, byte for byte (CRLF line ends kept)
    official_lines = OFFICIAL.read_bytes().splitlines(keepends=True)
    subset_lines = (quick_root / GT_FILE).read_bytes().splitlines(keepends=True)
    positions = [official_lines.index(line) for line in subset_lines]
    assert positions == sorted(positions) and all(line.endswith(b"\r\n") for line in subset_lines)
    # stratified: QUICK_SUBJECTS subjects of every database, at most QUICK_CLIPS clips each, all classes
    per_subject = subset.groupby(["db", "subject"]).size()
    assert subset.groupby("db")["subject"].nunique().to_dict() == {"casme2": QUICK_SUBJECTS, "samm": QUICK_SUBJECTS, "smic": QUICK_SUBJECTS}
    assert per_subject.max() <= QUICK_CLIPS
    assert set(subset["label"]) == {"0", "1", "2"}
    assert set(map(tuple, subset[["db", "subject", "clip", "label"]].values)) <= set(map(tuple, official[["db", "subject", "clip", "label"]].values))

    index, problems = scan(quick_root)
    assert composite_set(index) == expected_composite(subset)
    assert len(index) == len(subset)
    assert [p.severity for p in problems] == ["warning"]
    assert "a subset" in problems[0].message and f"{len(subset)} rows" in problems[0].message and "442" in problems[0].message
    # each clip's source emotion maps to its CSV class by the MEGC2019 rule
    assert (index["source_emotion"].map({"disgust": "negative", "repression": "negative", "anger": "negative", "contempt": "negative",
                                         "fear": "negative", "sadness": "negative", "happiness": "positive", "positive": "positive",
                                         "negative": "negative", "surprise": "surprise"}) == index["emotion"]).all()


def test_the_writer_is_deterministic(quick_root, tmp_path):
    again = WRITERS["megc2019"](tmp_path / "again", size="quick", seed=0, progress=False)
    files = sorted(p.relative_to(quick_root) for p in quick_root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in [f for f in files if f.suffix in (".xlsx", ".csv")] + files[::25]:
        assert (quick_root / rel).read_bytes() == (again / rel).read_bytes(), rel


# --- mismatches between the CSV and the folders ---------------------------------------------------


def test_a_missing_clip_folder_is_a_fatal_problem_naming_the_csv_row(copy):
    subset = read_csv(copy / GT_FILE)
    row = subset[subset["db"] == "smic"].iloc[1]
    folder = re.sub(r"^s0*", "s", row["subject"])
    clip = re.sub(r"^s0*", "s", row["clip"])
    emotion = CLASSES[int(row["label"])]
    shutil.rmtree(copy / "SMIC" / "SMIC_all_cropped" / "HS" / folder / "micro" / emotion / clip)
    index, problems = scan(copy)
    fatal = [p for p in problems if p.severity == "fatal"]
    assert len(fatal) == 1
    assert fatal[0].where == f"{GT_FILE} row {row['row']}"
    assert fatal[0].clip == f"smic/{folder}/{clip}"
    assert f"no clip {folder}/{clip}" in fatal[0].message and f"{row['subject']},{row['clip']}" in fatal[0].message
    assert f"smic/{folder}/{clip}" not in set(index["clip_id"]) and len(index) == len(subset) - 1


def test_a_samm_subject_folder_named_without_padding_is_a_problem(copy):
    (copy / "SAMM" / "SAMM" / "006").rename(copy / "SAMM" / "SAMM" / "6")
    index, problems = scan(copy)
    csv_rows = read_csv(copy / GT_FILE)
    lost = csv_rows[(csv_rows["db"] == "samm") & (csv_rows["subject"] == "6")]
    assert len(lost) > 0
    # the SAMM source names the folder and the fix; the composite names every CSV row it loses
    source = [p for p in problems if p.severity == "fatal" and p.where.startswith("SAMM_Micro_FACS_Codes_v2.xlsx")]
    assert {p.clip for p in source} == {f"samm/006/{c}" for c in lost["clip"]}
    assert all("folder 6" in p.message and "rename it 006" in p.message for p in source)
    composite = {p.where: p for p in problems if p.severity == "fatal" and p.where.startswith(GT_FILE)}
    assert set(composite) == {f"{GT_FILE} row {r}" for r in lost["row"]}
    for r, clip in zip(lost["row"], lost["clip"], strict=True):
        assert composite[f"{GT_FILE} row {r}"].clip == f"samm/006/{clip}" and f"CSV: 6,{clip}" in composite[f"{GT_FILE} row {r}"].message
    assert not index["subject"].eq("samm/006").any() and len(index) == len(csv_rows) - len(lost)


def test_a_label_that_disagrees_with_the_source_sheet_is_a_warning_naming_both(copy):
    sheet = copy / "CASME2" / "CASME2-coding-20190701.xlsx"
    book = openpyxl.load_workbook(sheet)
    cells = book.active
    header = [c.value for c in cells[1]]
    row = 2  # the first clip of the coding file
    subject, filename = cells.cell(row, header.index("Subject") + 1).value, cells.cell(row, header.index("Filename") + 1).value
    emotion_cell = cells.cell(row, header.index("Estimated Emotion") + 1)
    before = emotion_cell.value
    emotion_cell.value = "surprise" if before != "surprise" else "happiness"
    book.save(sheet)
    csv_rows = read_csv(copy / GT_FILE)
    gt = csv_rows[(csv_rows["db"] == "casme2") & (csv_rows["subject"] == f"sub{subject}") & (csv_rows["clip"] == filename)].iloc[0]
    index, problems = scan(copy)
    clip = f"casme2/sub{subject}/{filename}"
    disagree = [p for p in problems if "label disagrees" in p.message]
    assert len(disagree) == 1 and disagree[0].severity == "warning"
    assert disagree[0].where == f"{GT_FILE} row {gt['row']}" and disagree[0].clip == clip
    csv_class = CLASSES[int(gt["label"])]
    assert f"the CSV says {csv_class}" in disagree[0].message and repr(emotion_cell.value) in disagree[0].message
    assert index.set_index("clip_id").loc[clip, "emotion"] == csv_class  # the CSV stays the truth


# --- the simulator as a recipe's data source ------------------------------------------------------


def test_open_dataset_without_a_root_runs_on_the_simulated_quick_composite(tmp_path, monkeypatch):
    from mer4d.pipeline import open_dataset

    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    corpus = open_dataset("megc2019", frames=2, strategy="onset_apex", size=32, progress=False)
    simulated = next((tmp_path / "cache" / "sim").glob("megc2019-quick-seed0-*"))
    subset = read_csv(simulated / GT_FILE)
    assert tuple(corpus.classes) == CLASSES
    assert len(corpus.index) == len(subset) and set(corpus.index["emotion"]) == set(CLASSES)
    assert {s.split("/")[0] for s in corpus.index["subject"]} == {"casme2", "samm", "smic"}
    assert corpus.index["subject"].nunique() == 3 * QUICK_SUBJECTS
    assert (corpus.index["subject"].str.split("/").str[0] == corpus.index["dataset"]).all()
    assert "subset" in corpus.description, corpus.description
    assert any("a subset" in p.message for p in corpus.problems)
    clip = corpus.load_clip(0)  # (C, T, H, W): gray, onset and apex, 32 px
    assert clip.shape == (1, 2, 32, 32)
