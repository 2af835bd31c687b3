"""CASME II spec: coding files of both releases (fixtures of real rows, and the real files when present),
options, label schemes, the simulator writer and a catalogue of corrupted copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import mer4d.data.datasets  # noqa: F401  (registers the specs)
from mer4d.core.errors import DataError
from mer4d.data.datasets import casme2
from mer4d.data.filecheck import check_clip_files
from mer4d.data.index import validate_index
from mer4d.data.spec import DATASETS
from mer4d.synth.writers import WRITERS
from mer4d.synth.writers import casme2 as casme2_writer

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "casme2"
F2019, F2014 = "CASME2-coding-20190701.xlsx", "CASME2-coding-20140508-edited-copy.xlsx"
REAL_DIRS = [base / "reference" / "annotations" / "casme2" for base in (REPO.parent / "shared", Path("/work/shared"))]
REAL = next((d for d in REAL_DIRS if (d / F2019).exists()), None)
SPEC = DATASETS.get("casme2")


def sheet_rows(path: Path) -> list[dict]:
    """The data rows of a coding file, read independently of the loader (openpyxl, header by name)."""
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    names = [str(v) if v is not None else None for v in rows[0]]
    return [{n: v for n, v in zip(names, r, strict=True) if n} | {"excel_row": k + 2} for k, r in enumerate(rows[1:]) if any(v is not None for v in r)]


def make_root(tmp: Path, files: list[Path], tree: str = "Cropped") -> Path:
    """A dataset root with ``files`` and an (empty) clip folder for every row of the first of them."""
    root = tmp / "CASME2"
    root.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, root / f.name)
    for row in sheet_rows(files[0]):
        (root / tree / f"sub{row['Subject']}" / row["Filename"]).mkdir(parents=True, exist_ok=True)
    return root


def by_clip(index: pd.DataFrame) -> dict[str, dict]:
    return {r["clip_id"]: r for r in index.to_dict("records")}


# ---------------------------------------------------------------- fixtures of real rows


def test_2019_fixture_reads_every_row_as_written(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2019])
    index, problems = casme2.scan(root)
    rows = sheet_rows(FIXTURES / F2019)
    validate_index(index)
    assert len(index) == len(rows) == 18
    got = by_clip(index)
    for row in rows:
        clip = got[f"sub{row['Subject']}/{row['Filename']}"]
        assert (clip["subject"], clip["onset"], clip["offset"]) == (row["Subject"], row["OnsetFrame"], row["OffsetFrame"])
        assert clip["emotion"] == row["Estimated Emotion"] and clip["objective_class"] == row["Objective Classes"]
        assert clip["apex"] == (row["ApexFrame"] if row["ApexFrame"] != "/" else (row["OnsetFrame"] + row["OffsetFrame"]) // 2)
        assert clip["source"] == f"{F2019} row {row['excel_row']}" and clip["fps"] == 200.0 and clip["kind"] == "micro"
        assert Path(clip["frames_dir"]) == (root / "Cropped" / f"sub{row['Subject']}" / row["Filename"]).resolve()
    # the one quirk of these rows: apex '/' of sub04 EP12_01f (datasets.md §1), repaired to (261 + 321) // 2
    assert [(p.severity, p.where, p.clip) for p in problems] == [("warning", f"{F2019} row 7", "sub04/EP12_01f")]
    assert got["sub04/EP12_01f"]["apex"] == 291 and "'/'" in problems[0].message
    assert got["sub01/EP02_01f"]["aus"] == ["AU12"]  # a number cell
    assert got["sub01/EP19_05f"]["aus"] == ["AU4", "AU7", "L10"]
    assert got["sub06/EP02_31"]["aus"] == ["L2", "AU26", "AU38"]
    assert {"sub07/EP06_02_01", "sub07/EP06_02_02", "sub09/EP09f", "sub03/EP01_2", "sub03/EP08_1"} <= set(got)  # irregular names


def test_2014_edited_copy_without_blank_columns_and_its_quirks(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2014])
    index, problems = casme2.scan(root)
    got = by_clip(index)
    assert len(index) == 18
    assert got["sub04/EP12_01f"]["apex"] == 300  # the edited copy's fill of the 2019 '/'
    assert [got[f"sub24/{f}"]["emotion"] for f in ("EP07_01", "EP07_04f")] == ["sadness", "sadness"]
    assert index["objective_class"].isna().all()
    unknown_au = [(p.where, p.clip) for p in problems if "'?'" in p.message]
    assert unknown_au == [(f"{F2014} row 8", "sub05/EP05_03"), (f"{F2014} row 19", "sub26/EP13_01")]
    assert got["sub05/EP05_03"]["aus"] == []
    renamed = [p for p in problems if p.clip == "" and "release's file name" in p.message]
    assert len(renamed) == 1 and "CASME2-coding-20140508.xlsx" in renamed[0].message
    assert all(p.severity == "warning" for p in problems) and len(problems) == 3


def test_both_releases_present_uses_2019_and_names_both(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2019, FIXTURES / F2014])
    index, problems = casme2.scan(root)
    assert set(index["source"].str.split(" row ").str[0]) == {F2019}
    both = [p for p in problems if "both" in p.message]
    assert len(both) == 1 and F2019 in both[0].message and F2014 in both[0].message and "coding='2014'" in both[0].message
    old, old_problems = casme2.scan(root, coding=2014)  # YAML 'coding: 2014' arrives as an int
    assert set(old["source"].str.split(" row ").str[0]) == {F2014}
    assert not [p for p in old_problems if "both" in p.message]
    assert by_clip(old)["sub24/EP07_01"]["emotion"] == "sadness" and by_clip(index)["sub24/EP07_01"]["emotion"] == "surprise"


def test_options_and_missing_files_are_clear_errors(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2014])
    with pytest.raises(DataError, match=r"unknown coding release '2020'.*\['2014', '2019'\]"):
        casme2.scan(root, coding="2020")
    with pytest.raises(DataError, match=r"unknown frames 'aligned'.*\['cropped', 'raw'\]"):
        casme2.scan(root, frames="aligned")
    with pytest.raises(DataError, match=r"no CASME II coding file CASME2-coding-20190701.xlsx in .*coding to \['2014'\]"):
        casme2.scan(root, coding="2019")
    with pytest.raises(DataError, match=r"no raw frame folder CASME2_RAW_selected or CASME2_RAW in .*found \['Cropped'\].*frames"):
        casme2.scan(root, frames="raw")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"no CASME II coding file CASME2-coding-20190701.xlsx or CASME2-coding-20140508.xlsx in .*found \['labels.xlsx'\]"):
        casme2.scan(empty)


def test_raw_tree_and_folder_names_in_other_case(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2019], tree="casme2_raw_selected")
    (root / "casme2_raw_selected" / "sub05").rename(root / "casme2_raw_selected" / "SUB05")
    index, problems = casme2.scan(root, frames="raw")
    assert len(index) == 18 and not [p for p in problems if p.severity == "fatal"]
    assert by_clip(index)["sub05/EP09_05f"]["frames_dir"] == str((root / "casme2_raw_selected" / "SUB05" / "EP09_05f").resolve())


def test_numeric_subject_cells_of_a_resaved_copy_are_read_with_their_zero(tmp_path):
    root = make_root(tmp_path, [FIXTURES / F2019])
    book = openpyxl.load_workbook(root / F2019)
    book.active["A2"] = 1  # sub01 EP02_01f, as a copy re-saved by pandas writes it
    book.save(root / F2019)
    index, problems = casme2.scan(root)
    assert by_clip(index)["sub01/EP02_01f"]["subject"] == "01"
    assert [(p.severity, p.where) for p in problems if "Subject" in p.message] == [("warning", f"{F2019} row 2")]


def test_schemes_cover_every_emotion():
    assert SPEC.name == "casme2" and SPEC.writer == "casme2" and set(SPEC.schemes) == {"own", "five", "megc2019"}
    for name, scheme in SPEC.schemes.items():
        assert set(scheme.mapping) == set(casme2.EMOTIONS), name
    assert SPEC.scheme("own").classes == casme2.EMOTIONS
    five = SPEC.scheme("five")
    assert five.classes == ("happiness", "disgust", "surprise", "repression", "others")
    assert five.mapping["fear"] is None and five.mapping["sadness"] is None
    megc = SPEC.scheme("megc2019").mapping
    assert {e for e, c in megc.items() if c == "negative"} == {"disgust", "repression"}
    assert (megc["happiness"], megc["surprise"], megc["others"], megc["fear"], megc["sadness"]) == ("positive", "surprise", None, None, None)
    assert {m.column for m in SPEC.modalities.values()} == {"frames_dir"} and SPEC.modality("gray").color == "gray"


# ---------------------------------------------------------------- the real coding files (skipped without them)


@pytest.mark.skipif(REAL is None, reason="real CASME II coding files not available (../shared/reference/annotations/casme2)")
@pytest.mark.parametrize("name", [F2019, F2014])
def test_real_coding_file(tmp_path, name, capsys):
    real = pd.read_excel(REAL / name, dtype=str)  # an independent read: pandas' own header handling
    root = make_root(tmp_path, [REAL / name])
    index, problems = casme2.scan(root)
    assert not [p for p in problems if p.severity == "fatal"]
    assert len(index) == len(real) and index["subject"].nunique() == real["Subject"].nunique()
    assert index["emotion"].value_counts().to_dict() == real["Estimated Emotion"].str.strip().str.lower().value_counts().to_dict()
    assert sorted(index["subject"].unique()) == sorted(real["Subject"].unique())
    apex_bad = (~real["ApexFrame"].str.isdigit()).sum()
    au_bad = real["Action Units"].str.contains(r"\?").sum()
    assert sum("apex" in p.message for p in problems) == apex_bad and sum("'?'" in p.message for p in problems) == au_bad
    if "Objective Classes" in real:
        assert index["objective_class"].value_counts().to_dict() == real["Objective Classes"].astype(int).value_counts().to_dict()
    with capsys.disabled():
        print(f"\n{name}: {len(index)} clips, {index['subject'].nunique()} subjects, {index['emotion'].value_counts().to_dict()}; "
              f"warnings {len(problems)}: apex {apex_bad}, '?' AUs {au_bad}")


@pytest.mark.skipif(REAL is None, reason="real CASME II coding files not available")
@pytest.mark.parametrize("name", [F2019, F2014])
def test_fixture_rows_are_real_rows(name):
    real = {(r["Subject"], r["Filename"]): r for r in sheet_rows(REAL / name)}
    for row in sheet_rows(FIXTURES / name):
        assert {k: v for k, v in real[(row["Subject"], row["Filename"])].items() if k != "excel_row"} == \
            {k: v for k, v in row.items() if k != "excel_row"}


@pytest.mark.skipif(REAL is None, reason="real CASME II coding files not available")
def test_published_simulator_size_matches_the_2019_file():
    real = pd.read_excel(REAL / F2019, dtype=str)
    assert list(casme2_writer.PUBLISHED_PER_SUBJECT) == real["Subject"].value_counts().sort_index().tolist()
    assert casme2_writer.PUBLISHED_EMOTIONS == real["Estimated Emotion"].value_counts().to_dict()


# ---------------------------------------------------------------- the simulator writer


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return WRITERS["casme2"](tmp_path_factory.mktemp("casme2") / "CASME2", size="quick", seed=0, progress=False)


def test_writer_layout_scans_back_as_written(simulated):
    assert casme2_writer.CODING_FILE == casme2.CODING_FILES["2019"]
    assert (casme2_writer.RAW_TREE, casme2_writer.CROPPED_TREE) == (casme2.FRAME_TREES["raw"][0], casme2.FRAME_TREES["cropped"][0])
    rows = sheet_rows(simulated / F2019)
    header = next(openpyxl.load_workbook(simulated / F2019, read_only=True).active.iter_rows(max_row=1, values_only=True))
    assert header == casme2_writer.HEADER  # blank columns C and G, as the release
    assert len(rows) == 12 and len({r["Subject"] for r in rows}) == 3 and {r["Estimated Emotion"] for r in rows} == set(casme2.EMOTIONS)
    assert all(isinstance(r["Subject"], str) for r in rows)
    assert all(isinstance(r["Action Units"], int) == ("+" not in str(r["Action Units"]) and str(r["Action Units"]).isdigit()) for r in rows)
    for frames, prefix in (("cropped", "reg_img"), ("raw", "img")):
        index, problems = casme2.scan(simulated, frames=frames)
        assert problems == []
        got = by_clip(index)
        assert len(got) == len(rows)
        for row in rows:
            clip = got[f"sub{row['Subject']}/{row['Filename']}"]
            assert (clip["onset"], clip["apex"], clip["offset"]) == (row["OnsetFrame"], row["ApexFrame"], row["OffsetFrame"])
            assert clip["emotion"] == row["Estimated Emotion"] and clip["objective_class"] == row["Objective Classes"]
            names = sorted(p.name for p in Path(clip["frames_dir"]).iterdir())
            assert names == sorted(f"{prefix}{n}.jpg" for n in range(row["OnsetFrame"], row["OffsetFrame"] + 1))
    assert check_clip_files(index.iloc[:2], SPEC.modalities, deep=True) == []


def test_writer_is_deterministic_and_checks_its_arguments(tmp_path):
    small = {"subjects": 2, "clips_per_subject": 1, "size_px": 24, "trees": ("Cropped",)}
    a = casme2_writer.write_casme2(tmp_path / "a", seed=3, progress=False, **small)
    b = casme2_writer.write_casme2(tmp_path / "b", seed=3, progress=False, **small)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and not (a / "CASME2_RAW_selected").exists()
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    with pytest.raises(DataError, match=r"unknown override\(s\) \['colour'\]"):
        casme2_writer.write_casme2(tmp_path / "c", colour=True)
    with pytest.raises(DataError, match="unknown simulator size 'full'"):
        casme2_writer.write_casme2(tmp_path / "c", size="full")


def test_au_cells_follow_casme2_notation():
    assert casme2_writer.au_cell(("AU12",)) == 12 and casme2_writer.au_cell(("L12",)) == "L12"
    assert casme2_writer.au_cell(("AU4", "AU7", "L10")) == "4+7+L10"


# ---------------------------------------------------------------- corrupted copies


def corrupt_copy(simulated: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    # the cases read the default (cropped) tree; leaving the raw one out halves the copying
    shutil.copytree(simulated, root, ignore=lambda folder, names: ["CASME2_RAW_selected"] if Path(folder) == simulated else [])
    return root


def edit_cell(root: Path, excel_row: int, column: str, value: object) -> None:
    book = openpyxl.load_workbook(root / F2019)
    book.active[f"{column}{excel_row}"] = value
    book.save(root / F2019)


def fatal(problems, clip=None):
    return [p for p in problems if p.severity == "fatal" and (clip is None or p.clip == clip)]


def test_missing_subject_folder(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    shutil.rmtree(root / "Cropped" / "sub02")
    index, problems = casme2.scan(root)
    lost = [r for r in sheet_rows(root / F2019) if r["Subject"] == "02"]
    assert {p.where for p in fatal(problems)} == {f"{F2019} row {r['excel_row']}" for r in lost}
    assert all("subject folder sub02 is missing" in p.message for p in fatal(problems))
    assert len(index) == 12 - len(lost) and "02" not in set(index["subject"])


def test_label_row_without_clip_folder(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    row = sheet_rows(root / F2019)[5]
    clip = f"sub{row['Subject']}/{row['Filename']}"
    shutil.rmtree(root / "Cropped" / clip)
    index, problems = casme2.scan(root)
    assert [(p.where, p.clip) for p in fatal(problems)] == [(f"{F2019} row {row['excel_row']}", clip)]
    assert f"no clip folder {row['Filename']}" in fatal(problems)[0].message and clip not in set(index["clip_id"])


def test_unknown_au_token_is_a_warning(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    edit_cell(root, 3, "H", "4+AU99")
    index, problems = casme2.scan(root)
    clip = index.iloc[1]
    assert clip["aus"] == ["AU4"] and [(p.severity, p.where) for p in problems] == [("warning", f"{F2019} row 3")]
    assert "AU99" in problems[0].message


def test_empty_emotion_is_fatal(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    edit_cell(root, 4, "I", None)
    index, problems = casme2.scan(root)
    assert [(p.where, p.message) for p in fatal(problems)] == [(f"{F2019} row 4", "no emotion label in this row; fill the cell (no default is assumed)")]
    assert len(index) == 11


def test_apex_outside_the_clip_is_set_to_the_middle(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    row = sheet_rows(root / F2019)[0]
    edit_cell(root, 2, "E", row["OffsetFrame"] + 50)
    index, problems = casme2.scan(root)
    assert index.iloc[0]["apex"] == (row["OnsetFrame"] + row["OffsetFrame"]) // 2
    assert [(p.severity, p.where) for p in problems] == [("warning", f"{F2019} row 2")] and "outside" in problems[0].message


def test_bad_frame_numbers_and_duplicate_rows_are_fatal(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    edit_cell(root, 2, "F", 3)  # offset before onset
    book = openpyxl.load_workbook(root / F2019)
    book.active.append([c.value for c in book.active[3]])  # row 3 again, as row 14
    book.save(root / F2019)
    index, problems = casme2.scan(root)
    assert [p.where for p in fatal(problems)] == [f"{F2019} row 2", f"{F2019} row 14"]
    assert "before onset" in fatal(problems)[0].message and "already used by row 3" in fatal(problems)[1].message
    assert len(index) == 11


def test_zero_byte_and_undecodable_frames(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    index, _ = casme2.scan(root)
    first = sorted(Path(index.iloc[0]["frames_dir"]).iterdir())
    first[3].write_bytes(b"")
    first[4].write_bytes(b"\xff\xd8 not a jpeg")
    problems = check_clip_files(index.iloc[:1], SPEC.modalities, deep=True)
    reasons = {(Path(p.where).name, p.message) for p in problems}
    assert reasons == {(first[3].name, "empty file (0 bytes)"), (first[4].name, "not a decodable image (truncated or not an image file)")}
    assert all(p.severity == "fatal" and p.clip == index.iloc[0]["clip_id"] for p in problems)


def test_second_label_files(simulated, tmp_path):
    root = corrupt_copy(simulated, tmp_path)
    shutil.copy(root / F2019, root / "CASME2-coding-20190701 (1).xlsx")
    shutil.copy(FIXTURES / F2014, root / "CASME2-coding-20140508.xlsx")
    index, problems = casme2.scan(root)
    assert set(index["source"].str.split(" row ").str[0]) == {F2019}
    assert {(p.where, p.severity) for p in problems} == {("CASME2-coding-20190701 (1).xlsx", "warning"), (F2019, "warning")}
    assert any("both" in p.message and "CASME2-coding-20140508.xlsx" in p.message for p in problems)


def test_published_size_draws_the_published_emotion_counts():
    import numpy as np

    drawn = casme2_writer._emotions(np.random.default_rng(0), 255, "published")
    assert pd.Series(drawn).value_counts().to_dict() == casme2_writer.PUBLISHED_EMOTIONS
    assert sum(casme2_writer.PUBLISHED_PER_SUBJECT) == 255 and len(casme2_writer.PUBLISHED_PER_SUBJECT) == 26
