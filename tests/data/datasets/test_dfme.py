"""DFME: the spec against real rows of the three release sheets, the full real sheets where present,
the simulator's layout read back, and corrupted copies of it (datasets.md §7)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets import DATASETS
from mer4d.data.datasets.dfme import EMOTION_IDS, EMOTIONS, SHEETS, SPEC, scan
from mer4d.data.filecheck import check_dataset
from mer4d.data.readers.frames import list_frames
from mer4d.synth.writers import WRITERS
from mer4d.synth.writers.dfme import TABLE_IV, TRAIN_COUNTS, au_cell, write_dfme

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "dfme"
RELATIVE = Path("reference/annotations/dfme")
REAL = next((p for p in (REPO.parent / "shared" / RELATIVE, Path("/work/shared") / RELATIVE) if (p / SHEETS["train"][0]).is_file()), None)
PARTS = {500: "A", 300: "B", 200: "C"}


def fixture_rows() -> dict:
    spec = importlib.util.spec_from_file_location("dfme_fixture_script", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REAL_ROWS


def make_root(tmp: Path, sheets: Path, doubled: bool = True, annotation_folder: bool = True) -> Path:
    """A root with the three sheets from ``sheets`` and an empty folder per clip they name."""
    root = tmp / "root"
    target = root / "full_release_annotation" if annotation_folder else root
    target.mkdir(parents=True)
    for name, frames in SHEETS.values():
        shutil.copy(sheets / name, target / name)
        tree = root / frames / frames if doubled else root / frames
        for clip in pd.read_excel(sheets / name, dtype=str)["Filename"]:
            (tree / clip).mkdir(parents=True, exist_ok=True)
    return root


def edit(root: Path, key: str, row: int, **cells) -> None:
    """Set cells of data row ``row`` (1 = first clip, Excel row 2) of sheet ``key`` by header name."""
    path = root / "full_release_annotation" / SHEETS[key][0]
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for name, value in cells.items():
        sheet.cell(row=1 + row, column=header.index(name) + 1).value = value
    book.save(path)


def fatal(problems, text: str) -> list:
    found = [p for p in problems if p.severity == "fatal" and text in p.message]
    assert found, f"no fatal problem with {text!r} in {[(p.severity, p.clip, p.message) for p in problems]}"
    return found


@pytest.fixture
def fixture_root(tmp_path) -> Path:
    return make_root(tmp_path, FIXTURES / "full_release_annotation")


# --- the fixture: real rows of every sheet and part ------------------------------------------------


def test_fixture_rows_become_the_index_the_sheets_describe(fixture_root):
    index, problems = scan(fixture_root)
    assert problems == []
    rows = fixture_rows()
    expected = [(key, row, cells) for key, found in rows.items() for row, cells in found]
    assert list(index["clip_id"]) == [cells[1] for _, _, cells in expected]
    assert list(index["subject"]) == [cells[0] for _, _, cells in expected]
    assert list(index["fold"]) == [key for key, _, _ in expected]
    assert list(index["source"]) == [f"{SHEETS[key][0]} row {i + 2}" for key, found in rows.items() for i in range(len(found))]
    assert [tuple(r) for r in index[["onset", "apex", "offset"]].to_numpy()] == [cells[2:5] for _, _, cells in expected]
    assert list(index["emotion"]) == [cells[5] for _, _, cells in expected]
    assert list(index["fps"]) == [float(cells[7]) for _, _, cells in expected]
    assert list(index["part"]) == [PARTS[cells[7]] for _, _, cells in expected]
    assert set(index["kind"]) == {"micro"} and set(index["dataset"]) == {"dfme"}
    aus = dict(zip(index["clip_id"], index["aus"], strict=True))
    assert aus["sub0003_01"] == ["AU23"] and aus["sub0005_09"] == ["R10", "L15"] and aus["sub0007_03"] == ["AU23", "AD31"]
    assert aus["sub0009_45"] == ["AU1", "AU2", "AU5", "M58"] and aus["sub0581_01"] == ["R4", "AD38"]
    assert aus["sub0127_01"] == ["L4", "AU6", "AU12"] and aus["sub0008_01"] == ["AU12"]
    frames = dict(zip(index["clip_id"], index["frames_dir"], strict=True))
    assert frames["sub0020_01"] == str((fixture_root / "test_data_A" / "test_data_A" / "sub0020_01").resolve())
    # each sheet covers all three parts; the fixture holds every emotion
    assert index.groupby("fold")["part"].nunique().to_dict() == {"testA": 3, "testB": 3, "train": 3}
    assert set(index["emotion"]) == set(EMOTIONS)


def test_single_level_frame_folders_and_sheets_in_the_root(tmp_path):
    root = make_root(tmp_path, FIXTURES / "full_release_annotation", doubled=False, annotation_folder=False)
    index, problems = scan(root)
    assert problems == [] and len(index) == 19
    assert Path(index["frames_dir"].iloc[0]) == (root / "train_data" / "sub0003_01").resolve()


def test_a_subset_of_sheets_and_an_unknown_sheet(fixture_root):
    index, _ = scan(fixture_root, sheets=["testB"])
    assert set(index["fold"]) == {"testB"} and len(index) == 5
    shutil.rmtree(fixture_root / "test_data_A")  # not needed when Test A is not read
    index, _ = scan(fixture_root, sheets=["train", "testB"])
    assert len(index) == 13
    with pytest.raises(DataError, match=r"unknown sheet\(s\) \['testC'\].*'train', 'testA', 'testB'"):
        scan(fixture_root, sheets=["train", "testC"])
    with pytest.raises(DataError, match=r"no frame folder test_data_A/ .*dataset.params.sheets"):
        scan(fixture_root)


def test_a_missing_sheet_names_where_it_was_looked_for(fixture_root):
    (fixture_root / "full_release_annotation" / SHEETS["testA"][0]).unlink()
    with pytest.raises(DataError, match=r"no label sheet testA_full_with_AU.xlsx in .*full_release_annotation or "):
        scan(fixture_root)


def test_emotion_and_emotion_id_must_agree(fixture_root):
    edit(fixture_root, "train", 2, EmotionId=3)  # sub0005_09 sadness is 5
    index, problems = scan(fixture_root)
    (found,) = fatal(problems, "Emotion 'sadness' has EmotionId 5")
    assert found.where == "training_full_with_AU.xlsx row 3" and found.clip == "sub0005_09" and "'3'" in found.message
    assert "sub0005_09" not in set(index["clip_id"]) and len(index) == 18


@pytest.mark.parametrize("fps", [250, "fast", None])
def test_an_unknown_frame_rate_is_fatal(fixture_root, fps):
    edit(fixture_root, "testB", 1, Fps=fps)
    index, problems = scan(fixture_root)
    (found,) = fatal(problems, "is not a DFME frame rate (500 = Part A, 300 = Part B, 200 = Part C)")
    assert found.clip == "sub0001_01" and "sub0001_01" not in set(index["clip_id"])


def test_a_clip_without_its_folder_and_a_repeated_filename(fixture_root):
    shutil.rmtree(fixture_root / "train_data" / "train_data" / "sub0017_02")
    edit(fixture_root, "testB", 2, Filename="sub0003_01")  # already a training clip
    index, problems = scan(fixture_root)
    (missing,) = fatal(problems, "no clip folder sub0017_02")
    assert missing.where == "training_full_with_AU.xlsx row 8"
    (repeat,) = fatal(problems, "Filename sub0003_01 is already used by training_full_with_AU.xlsx row 2")
    assert repeat.where == "testB_full_with_AU.xlsx row 3"
    assert list(index["clip_id"]).count("sub0003_01") == 1 and len(index) == 17


def test_a_subject_at_two_rates_is_a_warning(fixture_root):
    edit(fixture_root, "train", 3, Fps=200)  # sub0005_15 at 200, sub0005_09 at 500
    index, problems = scan(fixture_root)
    warned = [p for p in problems if p.severity == "warning"]
    assert [p.clip for p in warned] == ["sub0005"] and "[200, 500] fps" in warned[0].message
    assert len(index) == 19  # kept


def test_schemes_and_registration():
    assert SPEC.scheme(None).classes == EMOTIONS == tuple(sorted(EMOTION_IDS, key=EMOTION_IDS.get))
    grouped = SPEC.scheme("megc2019").mapping
    assert {e for e in EMOTIONS if grouped[e] == "negative"} == {"anger", "contempt", "disgust", "fear", "sadness"}
    assert DATASETS.get("dfme") is SPEC and SPEC.writer in WRITERS and SPEC.modality(None).color == "rgb"
    assert SPEC.modality("gray").color == "gray"


# --- the full real sheets (skipped in a clone without ../shared) ---------------------------------------


@pytest.mark.skipif(REAL is None, reason="the real DFME sheets are not available (../shared/reference/annotations/dfme)")
def test_the_real_sheets(tmp_path):
    index, problems = scan(make_root(tmp_path, REAL))
    assert problems == []
    for key, n, subjects in (("train", 1856, 176), ("testA", 474, 42), ("testB", 299, 41)):
        sheet = pd.read_excel(REAL / SHEETS[key][0], dtype=str)  # independent read
        part = index[index["fold"] == key]
        assert len(part) == len(sheet) == n and part["subject"].nunique() == sheet["Subject"].nunique() == subjects
        assert list(part["clip_id"]) == list(sheet["Filename"])
        assert part["emotion"].value_counts().to_dict() == sheet["Emotion"].value_counts().to_dict()
        assert part["part"].value_counts().to_dict() == sheet["Fps"].astype(int).map(PARTS).value_counts().to_dict()
        assert list(part["offset"]) == sheet["OffsetFrame"].astype(int).tolist()
        print(f"\nDFME {key}: {n} clips, {subjects} subjects, parts {part['part'].value_counts().to_dict()}")
    train = index[index["fold"] == "train"]
    assert train["emotion"].value_counts().to_dict() == TRAIN_COUNTS  # the simulator draws these proportions
    assert train["part"].value_counts().to_dict() == {"A": 695, "B": 605, "C": 556}
    # every AU token of the release is understood (no warnings above), including AD / M codes
    codes = {c for aus in index["aus"] for c in aus}
    assert {"AD31", "AD38", "AD39", "M57", "M58"} <= codes
    assert not set(index[index["fold"] == "train"]["subject"]) & set(index[index["fold"] != "train"]["subject"])
    for key, found in fixture_rows().items():  # the fixture holds these rows exactly
        sheet = pd.read_excel(REAL / SHEETS[key][0], dtype=str)
        for row, cells in found:
            assert sheet.iloc[row - 2].tolist() == [str(c) for c in cells], (key, row)


# --- the simulator's layout, read back ---------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return write_dfme(tmp_path_factory.mktemp("dfme"), seed=3, progress=False, subjects=3, clips_per_subject=2, size_px=24)


def test_the_simulator_writes_what_the_spec_reads(simulated):
    index, problems = check_dataset(SPEC, simulated, {}, deep=True)
    assert problems == []
    assert index["fold"].value_counts().to_dict() == {"train": 6, "testA": 4, "testB": 4}
    assert set(index["part"]) == {"A", "B", "C"}
    for subject, rows in index.groupby("subject"):
        assert rows["fps"].nunique() == 1, subject
    for row in index.itertuples():
        numbers = [n for n, _ in list_frames(Path(row.frames_dir))]
        assert numbers == list(range(row.offset + 1)), row.clip_id  # 0-based in the clip, files to the offset
        assert row.onset <= row.apex <= row.offset
        ms = (row.offset - row.onset) / row.fps * 1000
        assert 100 <= ms <= 600, (row.clip_id, ms)  # a micro-expression's duration at the part's rate
        combos = {tuple(c) for c in TABLE_IV[row.emotion]}
        assert any(set(c) <= set(row.aus) for c in combos), (row.emotion, row.aus)
    first = cv2.imread(str(list_frames(Path(index["frames_dir"].iloc[0]))[0][1]))
    assert first.shape == (24, 24, 3)


def test_the_simulator_sheets_are_in_the_release_format(simulated):
    book = openpyxl.load_workbook(simulated / "full_release_annotation" / SHEETS["train"][0])
    sheet = book.active
    assert book.sheetnames == ["Sheet1"]
    assert [c.value for c in sheet[1]] == ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU"]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert isinstance(row[2], int) and isinstance(row[6], int) and row[7] in (500, 300, 200)
        assert row[6] == EMOTION_IDS[row[5]]
        assert isinstance(row[8], int) or "+" in row[8] or row[8][0] in "LR"
    assert au_cell(("AU4", "AU7")) == "4+7" and au_cell(("AU12",)) == 12 and au_cell(("L12",)) == "L12"


def test_the_simulator_is_deterministic_and_checks_overrides(tmp_path):
    a = write_dfme(tmp_path / "a", seed=5, progress=False, subjects=2, clips_per_subject=1, size_px=16)
    b = write_dfme(tmp_path / "b", seed=5, progress=False, subjects=2, clips_per_subject=1, size_px=16)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    with pytest.raises(DataError, match=r"unknown override\(s\) \['subject'\]"):
        write_dfme(tmp_path / "c", subject=2)
    with pytest.raises(DataError, match="subjects must be >= 2"):
        write_dfme(tmp_path / "c", subjects=1)


def test_the_simulated_face_moves_between_onset_and_apex(simulated):
    index, _ = scan(simulated)
    row = index.iloc[0]
    frames = dict(list_frames(Path(row.frames_dir)))
    onset = cv2.imread(str(frames[row.onset])).astype(float)
    apex = cv2.imread(str(frames[row.apex])).astype(float)
    assert np.abs(apex - onset).mean() > 0.5  # the planted AUs move the face
