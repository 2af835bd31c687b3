"""MMEW spec (datasets.md §8): label sheet + Micro_Expression folders -> Index, the simulator writer, broken copies."""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets import mmew
from mer4d.data.filecheck import check_clip_files
from mer4d.data.readers.frames import list_frames
from mer4d.data.spec import DATASETS

REPO = Path(__file__).resolve().parents[3]
FIXTURE_DIR = REPO / "tests" / "fixtures" / "mmew"
_spec = importlib.util.spec_from_file_location("mmew_fixture", FIXTURE_DIR / "make_fixture.py")
fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture)
COL = {name: k + 1 for k, name in enumerate(fixture.HEADER)}  # 1-based sheet columns


def _frames(folder: Path, last: int, size: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, last + 1):
        cv2.imwrite(str(folder / f"{n}.jpg"), np.full((size, size, 3), 40 + n % 200, np.uint8))


def fixture_tree(root: Path, skip: tuple[str, ...] = (), flat: bool = False) -> Path:
    """The fixture sheet in ``root`` and a frame folder 1..OffsetFrame for every row with a label and offset, but ``skip``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture.FILE, root / "MMEW_Micro_Exp.xlsx")
    for _, name, _, _, offset, _, emotion, _ in fixture.ROWS:
        if name in skip or not emotion or offset is None:
            continue
        _frames(root / "Micro_Expression" / ("" if flat else emotion.strip().lower()) / name, offset)
    return root


def where(row: int) -> str:
    return f"MMEW_Micro_Exp.xlsx row {row}"


def kinds(problems) -> set[tuple[str, str]]:
    return {(p.severity, p.where) for p in problems}


def test_fixture_file_is_what_its_script_writes():
    sheet = openpyxl.load_workbook(fixture.FILE).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [fixture.HEADER, *fixture.ROWS]


def test_scan_reads_every_row_of_the_documented_format(tmp_path):
    root = fixture_tree(tmp_path / "MMEW_Final", skip=("S06-06-001",))
    index, problems = mmew.scan(root)
    # Hand count over fixture.ROWS: 12 rows; row 11 has no offset, row 12's folder is not on disk.
    assert len(index) == 10 and sorted(index["subject"].unique()) == ["S01", "S02", "S03", "S04", "S05", "S06"]
    assert Counter(index["emotion"]) == {"disgust": 3, "happiness": 2, "surprise": 1, "others": 1, "fear": 1, "sadness": 1, "anger": 1}
    assert kinds(problems) == {("fatal", where(11)), ("fatal", where(12)), ("warning", where(9)), ("warning", where(10)), ("warning", where(13))}
    by = {p.where: p for p in problems}
    assert "offset" in by[where(11)].message and "S06-06-001" in by[where(12)].message and "'?'" in by[where(13)].message
    rows = index.set_index("clip_id")
    assert set(index["dataset"]) == {"mmew"} and set(index["kind"]) == {"micro"} and set(index["fps"]) == {90.0} and set(index["onset"]) == {1}
    assert index["fold"].isna().all()
    assert rows.loc["S04/S04-03-001", ["apex", "offset"]].tolist() == [27, 54]  # apex 75 > offset: middle (1 + 54) // 2
    assert rows.loc["S05/S05-03-001", "apex"] == 30  # missing apex: (1 + 60) // 2
    assert rows.loc["S01/S01-01-001", ["apex", "offset"]].tolist() == [12, 30]
    assert rows.loc["S02/S02-03-001", "aus"] == ["AU9"] and rows.loc["S02/S02-06-001", "aus"] == ["L7"]
    assert rows.loc["S06/S06-01-001", "aus"] == ["AU12"] and rows.loc["S01/S01-02-001", "aus"] == ["AU1", "AU2", "AU5"]
    assert rows.loc["S03/S03-04-001", "emotion"] == "fear" and rows.loc["S01/S01-01-001", "source"] == where(2)
    assert rows.loc["S01/S01-01-001", "frames_dir"] == str((root / "Micro_Expression/happiness/S01-01-001").absolute())
    assert check_clip_files(index, DATASETS.get("mmew").modalities, deep=True) == []


def test_schemes_cover_every_emotion_and_pool_as_published():
    spec = DATASETS.get("mmew")
    assert spec.default_scheme == "own" and spec.writer == "mmew" and spec.default_modality == "rgb"
    assert {n: (m.column, m.color) for n, m in spec.modalities.items()} == {"rgb": ("frames_dir", "rgb"), "gray": ("frames_dir", "gray")}
    for scheme in spec.schemes.values():
        assert set(scheme.mapping) == set(mmew.EMOTIONS)
    assert dict(spec.scheme("own").mapping) == {e: e for e in mmew.EMOTIONS}
    megc = spec.scheme("megc2019").mapping
    # The paper's counts (datasets.md §8) pooled by hand: negative 8 + 72 + 16 + 13, positive 36, surprise 89.
    paper = {"happiness": 36, "anger": 8, "surprise": 89, "disgust": 72, "fear": 16, "sadness": 13, "others": 66}
    pooled = Counter()
    for emotion, n in paper.items():
        if megc[emotion] is not None:
            pooled[megc[emotion]] += n
    assert (pooled["negative"], pooled["positive"], pooled["surprise"]) == (109, 36, 89) and megc["others"] is None
    assert [e for e, c in spec.scheme("4class").mapping.items() if c is None] == ["anger", "fear", "sadness"]
    assert spec.scheme("6class").mapping["others"] is None and spec.scheme("6class").classes == mmew.EMOTIONS[:-1]


def test_label_file_versions_and_choice(tmp_path):
    root = fixture_tree(tmp_path / "r")
    shutil.copy(root / "MMEW_Micro_Exp.xlsx", root / "MMEW_Micro_Exp_v2.xlsx")
    pd.read_excel(root / "MMEW_Micro_Exp.xlsx", dtype=str).to_csv(root / "MMEW_Micro_Exp.csv", index=False)
    index, problems = mmew.scan(root)
    note = [p for p in problems if p.where == "MMEW_Micro_Exp_v2.xlsx"]
    assert set(index["source"].str.split(" row ").str[0]) == {"MMEW_Micro_Exp_v2.xlsx"}
    assert len(note) == 1 and "MMEW_Micro_Exp.xlsx" in note[0].message and "MMEW_Micro_Exp.csv" in note[0].message
    assert "label_file" in note[0].message
    picked, problems = mmew.scan(root, label_file="MMEW_Micro_Exp.csv")  # the csv export reads the same
    assert set(picked["source"].str.split(" row ").str[0]) == {"MMEW_Micro_Exp.csv"}
    pd.testing.assert_frame_equal(picked.drop(columns="source"), index.drop(columns="source"))
    with pytest.raises(DataError, match="MMEW_Micro_Exp_old.xlsx.*MMEW_Micro_Exp_v2.xlsx"):
        mmew.scan(root, label_file="MMEW_Micro_Exp_old.xlsx")
    for p in root.glob("MMEW_Micro_Exp*"):
        p.unlink()
    with pytest.raises(DataError, match="no label file named MMEW_Micro_Exp"):
        mmew.scan(root)


def test_layout_variants_give_the_same_index(tmp_path):
    nested = fixture_tree(tmp_path / "nested" / "MMEW_Final")
    base, base_problems = mmew.scan(nested)
    # Sheet inside MMEW_Final, root pointed at its parent; sheet at the root with MMEW_Final/Micro_Expression below.
    outer, _ = mmew.scan(tmp_path / "nested")
    beside = tmp_path / "beside"
    shutil.copytree(nested, beside / "MMEW_Final")
    shutil.move(beside / "MMEW_Final" / "MMEW_Micro_Exp.xlsx", beside / "MMEW_Micro_Exp.xlsx")
    (beside / "MMEW_Final" / "Macro_Expression" / "S01" / "anger").mkdir(parents=True)  # stills, never indexed
    moved, problems = mmew.scan(beside)
    for other in (outer, moved):
        assert other["clip_id"].tolist() == base["clip_id"].tolist() and other["apex"].tolist() == base["apex"].tolist()
    assert kinds(problems) == kinds(base_problems)  # only the fixture's row problems: the macro folder is ignored
    flat, problems = mmew.scan(fixture_tree(tmp_path / "flat", flat=True))
    assert flat["clip_id"].tolist() == base["clip_id"].tolist()
    layout = [p for p in problems if "row" not in p.where]
    assert len(layout) == 1 and "directly in Micro_Expression/" in layout[0].message and "S01-01-001" in layout[0].message


def test_folder_under_another_emotion_unnamed_folders_and_duplicates(tmp_path):
    root = fixture_tree(tmp_path / "r")
    micro = root / "Micro_Expression"
    (micro / "surprise").mkdir(exist_ok=True)
    shutil.move(micro / "sadness" / "S03-05-001", micro / "surprise" / "S03-05-001")
    _frames(micro / "happiness" / "S09-01-001", 3)
    book = openpyxl.load_workbook(root / "MMEW_Micro_Exp.xlsx")
    book.active.append(fixture.ROWS[0])  # row 14 repeats row 2
    book.active.cell(7, COL["Subject"]).value = "S13"  # row 7 (S03-05-001) names another person
    book.save(root / "MMEW_Micro_Exp.xlsx")
    index, problems = mmew.scan(root)
    row7 = sorted(p.message for p in problems if p.where == where(7))
    assert len(row7) == 2 and "Subject 'S13' differs from the person part" in row7[0] and "under surprise/, not sadness/" in row7[1]
    moved = index.set_index("clip_id").loc["S13/S03-05-001"]
    assert moved["emotion"] == "sadness" and moved["frames_dir"].endswith("surprise/S03-05-001")
    duplicate = [p for p in problems if p.where == where(14)]
    assert [p.severity for p in duplicate] == ["fatal"] and "row 2" in duplicate[0].message and index["clip_id"].is_unique
    unnamed = [p for p in problems if "no label row names" in p.message]
    assert len(unnamed) == 1 and "happiness/S09-01-001" in unnamed[0].message


def test_empty_subject_is_taken_from_the_filename(tmp_path):
    root = fixture_tree(tmp_path / "r")
    book = openpyxl.load_workbook(root / "MMEW_Micro_Exp.xlsx")
    book.active.cell(2, COL["Subject"]).value = None
    book.save(root / "MMEW_Micro_Exp.xlsx")
    index, problems = mmew.scan(root)
    assert "S01/S01-01-001" in set(index["clip_id"])
    assert any(p.where == where(2) and p.severity == "warning" and "Filename" in p.message for p in problems)


@pytest.mark.parametrize("base", [Path("/work/shared"), REPO.parent / "shared"])
def test_real_label_file_when_available(base, tmp_path):
    real = base / "reference" / "annotations" / "mmew" / "MMEW_Micro_Exp.xlsx"
    if not real.exists():
        pytest.skip(f"no real MMEW label file at {real} (none is public; datasets.md §8 is from loader code)")
    sheet = pd.read_excel(real, dtype=str)  # independent read: header on row 1
    sheet = sheet[sheet["Filename"].notna() & sheet["Estimated Emotion"].notna()]
    for name, emotion in zip(sheet["Filename"], sheet["Estimated Emotion"], strict=True):
        (tmp_path / "Micro_Expression" / emotion.strip().lower() / name.strip()).mkdir(parents=True, exist_ok=True)
    shutil.copy(real, tmp_path / real.name)
    index, problems = mmew.scan(tmp_path)
    print(len(sheet), sheet["Subject"].nunique(), Counter(sheet["Estimated Emotion"].str.strip().str.lower()))
    unusable = {p.where for p in problems if p.severity == "fatal"}
    assert len(index) + len(unusable) == len(sheet)
    assert set(index["emotion"]) <= set(sheet["Estimated Emotion"].str.strip().str.lower())


# --- the simulator writer ----------------------------------------------------------------------------------------

QUICK_COUNTS = {"happiness": 3, "surprise": 3, "anger": 1, "disgust": 3, "fear": 1, "sadness": 1, "others": 2}


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> Path:
    from mer4d.synth.writers import WRITERS

    return WRITERS["mmew"](tmp_path_factory.mktemp("mmew") / "MMEW_Final", size="quick", seed=3, progress=False)


def test_quick_simulation_scans_back_as_written(quick):
    from mer4d.synth.writers.mmew import SIZES, plan_clips

    index, problems = mmew.scan(quick)
    assert problems == []
    plan = plan_clips(SIZES["quick"], seed=3)
    assert [c.filename for c in plan] == [c.split("/")[1] for c in index["clip_id"]]
    assert index["subject"].tolist() == [c.subject for c in plan] and index["emotion"].tolist() == [c.emotion for c in plan]
    assert Counter(index["emotion"]) == QUICK_COUNTS and sorted(set(index["subject"])) == ["S01", "S02", "S03", "S04"]
    assert (quick / "MMEW_Micro_Exp.xlsx").is_file() and sorted(p.name for p in quick.iterdir()) == ["MMEW_Micro_Exp.xlsx", "Micro_Expression"]
    for row in index.itertuples():
        numbers = [n for n, _ in list_frames(row.frames_dir)]
        assert numbers == list(range(1, row.offset + 1)) and row.onset == 1 and 1 < row.apex < row.offset
        assert Path(row.frames_dir).parent.name == row.emotion and row.aus
    image = cv2.imread(str(Path(index["frames_dir"][0]) / "1.jpg"))
    assert image.shape == (48, 48, 3) and np.abs(image[..., 2].astype(int) - image[..., 0]).mean() > 5  # colour, not gray
    assert check_clip_files(index, DATASETS.get("mmew").modalities) == []


def test_sheet_cells_follow_the_release_notation(quick):
    rows = list(openpyxl.load_workbook(quick / "MMEW_Micro_Exp.xlsx").active.iter_rows(values_only=True))
    assert list(rows[0]) == fixture.HEADER
    aus = [r[COL["Action Units"] - 1] for r in rows[1:]]
    assert all(isinstance(a, int) or ("+" in a or a[0] in "LR") for a in aus)
    assert all(isinstance(r[2], int) and r[2] == 1 for r in rows[1:]) and all(r[COL["remarks"] - 1] is None for r in rows[1:])


def test_writer_is_deterministic_and_checks_its_options(tmp_path):
    from mer4d.synth.writers.mmew import SIZES, au_cell, size_spec, write_mmew

    assert size_spec("full", subjects=None) == SIZES["published"] and size_spec("quick", subjects=3).subjects == 3

    small = dict(subjects=2, counts={"happiness": 1, "others": 1}, size_px=24, progress=False)
    a, b = write_mmew(tmp_path / "a", seed=5, **small), write_mmew(tmp_path / "b", seed=5, **small)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (au_cell(("AU12",)), au_cell(("AU6", "AU12")), au_cell(("L12",))) == (12, "6+12", "L12")
    with pytest.raises(DataError, match="unknown simulator size"):
        write_mmew(tmp_path / "c", size="huge")
    with pytest.raises(DataError, match="unknown option.*frames"):
        write_mmew(tmp_path / "c", frames=3)
    with pytest.raises(DataError, match="at least 2 subjects"):
        write_mmew(tmp_path / "c", subjects=1)
    with pytest.raises(DataError, match="not MMEW emotions"):
        write_mmew(tmp_path / "c", counts={"contempt": 3})


def test_published_profile_has_the_paper_counts():
    from mer4d.synth.writers.mmew import SIZES, plan_clips

    plan = plan_clips(SIZES["published"], seed=0)
    # datasets.md §8 / the MMEW paper: 300 MEs of 36 subjects.
    assert len(plan) == 300 and len({c.subject for c in plan}) == 36 and len({c.filename for c in plan}) == 300
    assert Counter(c.emotion for c in plan) == {"happiness": 36, "anger": 8, "surprise": 89, "disgust": 72, "fear": 16, "sadness": 13, "others": 66}


# --- corrupted copies of the simulated dataset ---------------------------------------------------------------------


@pytest.fixture
def broken(quick, tmp_path) -> Path:
    return Path(shutil.copytree(quick, tmp_path / "copy"))


def _set_cell(root: Path, row: int, name: str, value) -> None:
    book = openpyxl.load_workbook(root / "MMEW_Micro_Exp.xlsx")
    book.active.cell(row, COL[name]).value = value
    book.save(root / "MMEW_Micro_Exp.xlsx")


def test_missing_emotion_folder_makes_its_rows_fatal(broken):
    shutil.rmtree(broken / "Micro_Expression" / "disgust")
    index, problems = mmew.scan(broken)
    fatal = [p for p in problems if p.severity == "fatal"]
    assert len(fatal) == QUICK_COUNTS["disgust"] and all("emotion folder" in p.message and "disgust does not exist" in p.message for p in fatal)
    assert "disgust" not in set(index["emotion"]) and len(index) == sum(QUICK_COUNTS.values()) - QUICK_COUNTS["disgust"]


def test_label_row_without_folder_is_fatal(broken):
    index, _ = mmew.scan(broken)
    gone = Path(index["frames_dir"][4])
    shutil.rmtree(gone)
    again, problems = mmew.scan(broken)
    assert [(p.severity, p.where, p.clip) for p in problems] == [("fatal", where(6), index["clip_id"][4])]
    assert f"{gone.name} does not exist" in problems[0].message and index["clip_id"][4] not in set(again["clip_id"])


def test_au99_token_is_a_warning_and_left_out(broken):
    _set_cell(broken, 2, "Action Units", "AU4+AU99")
    index, problems = mmew.scan(broken)
    assert [(p.severity, p.where) for p in problems] == [("warning", where(2))] and "AU99" in problems[0].message
    assert index["aus"][0] == ["AU4"]


def test_empty_emotion_cell_is_fatal(broken):
    _set_cell(broken, 3, "Estimated Emotion", None)
    index, problems = mmew.scan(broken)
    fatal = [p for p in problems if p.severity == "fatal"]
    assert [(p.where, "no emotion label" in p.message) for p in fatal] == [(where(3), True)] and len(index) == sum(QUICK_COUNTS.values()) - 1
    assert any("no label row names" in p.message for p in problems)  # its folder is now unnamed, and said so


def test_apex_outside_the_clip_is_set_to_the_middle(broken):
    index, _ = mmew.scan(broken)
    onset, offset = int(index["onset"][0]), int(index["offset"][0])
    _set_cell(broken, 2, "ApexFrame", offset + 5)
    again, problems = mmew.scan(broken)
    assert [(p.severity, p.where) for p in problems] == [("warning", where(2))] and "outside" in problems[0].message
    assert again["apex"][0] == (onset + offset) // 2


def test_zero_byte_and_undecodable_frames_are_caught_by_the_deep_check(broken):
    index, _ = mmew.scan(broken)
    empty, garbage = Path(index["frames_dir"][0]) / "2.jpg", Path(index["frames_dir"][1]) / "3.jpg"
    empty.write_bytes(b"")
    garbage.write_bytes(b"\xff\xd8 not really a jpeg")
    modalities = DATASETS.get("mmew").modalities
    problems = check_clip_files(index, {"rgb": modalities["rgb"]}, deep=True)
    assert {(p.where, p.severity) for p in problems} == {(str(empty), "fatal"), (str(garbage), "fatal")}
    assert {p.where: p.message for p in problems}[str(empty)] == "empty file (0 bytes)"
    assert "not a decodable image" in {p.where: p.message for p in problems}[str(garbage)]
    assert [p.where for p in check_clip_files(index, modalities)] == [str(empty), str(empty)]  # shallow: size only, per modality


def test_second_version_of_the_label_file_is_used_and_named(broken):
    shutil.copy(broken / "MMEW_Micro_Exp.xlsx", broken / "MMEW_Micro_Exp_new.xlsx")
    index, _ = mmew.scan(broken)
    relabel = "others" if index["emotion"][0] != "others" else "anger"
    _set_cell(broken, 2, "ApexFrame", None)  # only the old file changes
    book = openpyxl.load_workbook(broken / "MMEW_Micro_Exp_new.xlsx")
    book.active.cell(2, COL["Estimated Emotion"]).value = relabel
    book.save(broken / "MMEW_Micro_Exp_new.xlsx")
    again, problems = mmew.scan(broken)
    notes = [p for p in problems if p.where == "MMEW_Micro_Exp_new.xlsx"]
    assert len(notes) == 1 and "using MMEW_Micro_Exp_new.xlsx" in notes[0].message and "'MMEW_Micro_Exp.xlsx'" in notes[0].message
    assert again["emotion"][0] == relabel and again["apex"][0] == index["apex"][0]  # read from _new, not the plain file
    assert any(p.severity == "warning" and "under" in p.message for p in problems)  # its folder sits under the old label
