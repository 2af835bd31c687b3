"""CAS(ME)^3 spec: Part A and Part C label files (fixtures of real rows, and the real files when present),
file versions, folder layouts and spellings, label schemes, the simulator writer and corrupted copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pandas as pd
import pytest

import mer4d.data.datasets  # noqa: F401  (registers the specs)
from mer4d.core.errors import DataError
from mer4d.data.datasets import casme3
from mer4d.data.filecheck import check_clip_files
from mer4d.data.index import validate_index
from mer4d.data.readers.depth import read_depth
from mer4d.data.spec import DATASETS
from mer4d.synth.writers import WRITERS

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "casme3"
FA, FC = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "CAS(ME)3_part_C_ME.xlsx"
FA1 = "cas(me)3_part_A_ME_label_JpgIndex_v1.xlsx"
TREE_A = "part_A/data/part_A_split/part_A"
REAL_DIRS = [base / "reference" / "annotations" / "casme3" for base in (REPO.parent / "shared", Path("/work/shared"))]
REAL = next((d for d in REAL_DIRS if (d / FA).exists()), None)
SPEC = DATASETS.get("casme3")
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


def sheet_rows(path: Path) -> list[dict]:
    """The data rows of a label file, read independently of the loader (openpyxl, first sheet, header by name)."""
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    names = [str(v) if v is not None else None for v in rows[0]]
    return [{n: v for n, v in zip(names, r, strict=True) if n} | {"excel_row": k + 2} for k, r in enumerate(rows[1:]) if any(v is not None for v in r)]


def make_root_a(tmp: Path, files: list[Path], *, depth: bool = True, where: str = "annotation/partA") -> Path:
    """A Part A root with ``files`` and empty color (and depth) folders for every row of the first of them."""
    root = tmp / "CASME3"
    (root / where).mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, root / where / f.name)
    for row in sheet_rows(files[0]):
        video = root / TREE_A / row["Subject"] / row["Filename"].lower()
        (video / "color").mkdir(parents=True, exist_ok=True)
        if depth:
            (video / "depth").mkdir(exist_ok=True)
    return root


def make_root_c(tmp: Path, file: Path) -> Path:
    root = tmp / "CASME3"
    (root / "annotation/partC").mkdir(parents=True, exist_ok=True)
    shutil.copy(file, root / "annotation/partC" / file.name)
    for row in sheet_rows(file):
        (root / "ME_C" / f"{int(row['sub']):02d}" / str(row["count"]) / "color").mkdir(parents=True, exist_ok=True)
    return root


def by_clip(index: pd.DataFrame) -> dict[str, dict]:
    return {r["clip_id"]: r for r in index.to_dict("records")}


def summary(problems) -> list[tuple[str, str, str]]:
    return sorted((p.severity, p.where, p.clip) for p in problems)


# ---------------------------------------------------------------- Part A fixture of real rows


def test_part_a_fixture_reads_every_usable_row_as_written(tmp_path):
    root = make_root_a(tmp_path, [FIXTURES / FA])
    index, problems = casme3.scan(root)
    validate_index(index)
    rows = sheet_rows(FIXTURES / FA)
    at = {f"{r['Subject']}/{r['Filename']}/{r['Onset']}": f"{FA} row {r['excel_row']}" for r in rows}
    fatal = {"spNO.216/d/3647", "spNO.40/e/1812"}  # onset after offset; offset 0
    assert len(rows) == 18 and len(index) == 16
    got = by_clip(index)
    for row in rows:
        clip = f"{row['Subject']}/{row['Filename']}/{row['Onset']}"
        if clip in fatal:
            assert clip not in got
            continue
        r = got[clip]
        onset, apex, offset = int(row["Onset"]), int(row["Apex"]), int(row["Offset"])
        if onset == 0:  # the exception list's fix: onset and apex +1
            onset, apex = 1, apex + 1
        if not onset <= apex <= offset:
            apex = (onset + offset) // 2
        assert (r["subject"], r["onset"], r["apex"], r["offset"]) == (row["Subject"], onset, apex, offset)
        assert r["emotion"] == row["emotion"].lower() and r["objective_class"] == ROMAN[row["Objective class"]]
        assert r["source"] == at[clip] and r["fps"] == 30.0 and r["kind"] == "micro" and r["fold"] is None
        video = (root / TREE_A / row["Subject"] / row["Filename"].lower()).resolve()
        assert Path(r["frames_dir"]) == video / "color" and Path(r["depth_dir"]) == video / "depth"
    assert got["spNO.149/d/112"]["apex"] == 235  # (112 + 358) // 2
    assert (got["spNO.216/e/0"]["onset"], got["spNO.216/e/0"]["apex"], got["spNO.216/e/0"]["offset"]) == (1, 1, 25)
    assert got["spNO.149/d/112"]["aus"] == ["T28", "AU14"] and got["spNO.187/c/2541"]["aus"] == ["B23"]
    assert got["spNO.11/g/2001"]["aus"] == ["AU24", "AU14"] and got["spNO.1/e/62"]["aus"] == ["R12"]
    assert {"spNO.1/e/62", "spNO.1/e/96"} <= set(got)  # two MEs of one video, sharing frame 96
    assert sorted(index["emotion"].unique()) == sorted(casme3.EMOTIONS["A"])
    warned = ("spNO.14/J/1012",  # Filename 'J', folder 'j'
              "spNO.149/d/112",  # apex before onset
              "spNO.168/a/4",  # 'Others'
              "spNO.214/c/5",  # 3456 frames
              "spNO.216/e/0")  # onset 0
    assert summary(problems) == sorted([("fatal", at[c], c) for c in fatal] + [("warning", at[c], c) for c in warned])
    text = {p.clip: p.message for p in problems}
    assert "offset 2694 is before onset 3647" in text["spNO.216/d/3647"] and "offset 0 is before onset 1812" in text["spNO.40/e/1812"]
    assert "'J'" in text["spNO.14/J/1012"] and "folder j" in text["spNO.14/J/1012"]
    assert "'Others'" in text["spNO.168/a/4"] and "3456 frames" in text["spNO.214/c/5"]
    assert "casme3_partA_error_list_ZhouJu.xlsx" in text["spNO.216/e/0"]


# ---------------------------------------------------------------- Part C fixture of real rows


def test_part_c_fixture_reads_every_row_with_the_middle_apex(tmp_path):
    root = make_root_c(tmp_path, FIXTURES / FC)
    index, problems = casme3.scan(root, part="C")
    validate_index(index)
    rows = sheet_rows(FIXTURES / FC)
    assert len(index) == len(rows) == 8
    got = by_clip(index)
    for row in rows:
        r = got[f"{row['sub']}/{row['count']}"]
        assert r["subject"] == str(row["sub"]) and (r["onset"], r["offset"]) == (row["onset"], row["offset"])
        assert r["apex"] == (row["onset"] + row["offset"]) // 2 and r["emotion"] == row["emotion"]
        assert r["objective_class"] is None and r["depth_dir"] is None and r["fps"] == 30.0
        assert Path(r["frames_dir"]) == (root / "ME_C" / f"{row['sub']:02d}" / str(row["count"]) / "color").resolve()
    assert got["1/1"]["aus"] == ["R4", "AU5"] and got["2/1"]["aus"] == ["AU1"]  # text and number cells
    assert got["4/11"]["aus"] == ["AU4", "AU11"] and got["4/5"]["aus"] == ["AU14", "L24"] and got["10/1"]["aus"] == []
    assert sorted(index["emotion"].unique()) == sorted(casme3.EMOTIONS["C"])
    at = {f"{r['sub']}/{r['count']}": f"{FC} row {r['excel_row']}" for r in rows}
    warned = ("4/5", "7/1",  # trailing commas
              "4/11",  # full-width comma
              "10/1")  # '13?'
    assert summary(problems) == sorted([("warning", FC, "")] + [("warning", at[c], c) for c in warned])  # + the no-apex note
    text = {p.clip: p.message for p in problems}
    assert "'13?'" in text["10/1"] and "full-width comma" in text["4/11"] and "empty item" in text["4/5"] and "no apex" in text[""]


# ---------------------------------------------------------------- versions, options, missing files


def test_versions_newest_is_read_and_the_others_are_named(tmp_path):
    root = make_root_a(tmp_path, [FIXTURES / FA, FIXTURES / FA1])
    index, problems = casme3.scan(root)
    assert set(index["source"].str.split(" row ").str[0]) == {FA}
    older = [p for p in problems if p.where == FA1]
    assert len(older) == 1 and "older version" in older[0].message and FA in older[0].message

    only_v1 = make_root_a(tmp_path / "v1", [FIXTURES / FA1])
    old, old_problems = casme3.scan(only_v1)
    assert len(old) == 4 and by_clip(old)["spNO.1/j/28"]["emotion"] == "sad"  # v2 writes happy
    assert [p.where for p in old_problems] == [FA1] and "version 1" in old_problems[0].message and FA in old_problems[0].message

    # a dated copy of v2 is newer than the undated one; a second copy of it elsewhere is named too
    dated = "cas(me)3_part_A_ME_label_JpgIndex_v2_20250903.xlsx"
    shutil.copy(FIXTURES / FA, root / "annotation/partA" / dated)
    shutil.copy(FIXTURES / FA, root / dated)
    index, problems = casme3.scan(root)
    assert set(index["source"].str.split(" row ").str[0]) == {dated}
    notes = {p.where: p.message for p in problems if p.clip == ""}
    assert set(notes) == {FA, FA1, dated} and "same version" in notes[dated] and "older version" in notes[FA]


def test_options_and_missing_files_are_clear_errors(tmp_path):
    root = make_root_a(tmp_path, [FIXTURES / FA])
    with pytest.raises(DataError, match=r"unknown part 'B'; expected one of \['A', 'C'\]"):
        casme3.scan(root, part="B")
    assert len(casme3.scan(root, part="a")[0]) == 16  # YAML 'part: a'
    with pytest.raises(DataError, match=r"no Part C ME label file CAS\(ME\)3_part_C_ME.xlsx .* in .*annotation/partC"):
        casme3.scan(root, part="C")
    bare = tmp_path / "bare"
    (bare / "annotation/partA").mkdir(parents=True)
    (bare / "annotation/partA/CAS(ME)3_part_A_v2.xls").write_bytes(b"")
    with pytest.raises(DataError, match=r"no Part A ME label file .*CAS\(ME\)3_part_A_v2.xls is there, but it holds every expression and no emotion"):
        casme3.scan(bare)
    shutil.copy(FIXTURES / FA, bare / FA)
    with pytest.raises(DataError, match=r"no Part A frame folder in .*part_A/data/part_A_split/part_A.*Part_A_ME_clip/frame"):
        casme3.scan(bare)
    shutil.copy(FIXTURES / FC, bare / FC)
    with pytest.raises(DataError, match=r"no Part C frame folder ME_C or part_C/ME_C .*meb's extraction"):
        casme3.scan(bare, part="C")
    (bare / FA).write_bytes(b"not a spreadsheet")
    with pytest.raises(DataError, match=r"not a readable spreadsheet"):
        casme3.scan(bare)


# ---------------------------------------------------------------- folder layouts and spellings


def test_folder_spellings_and_depth_variants_are_named_once(tmp_path):
    root = make_root_a(tmp_path, [FIXTURES / FA])
    tree = root / TREE_A
    (tree / "spNO.1").rename(tree / "spNo.1")  # the ME-clip copies' spelling
    (tree / "spNO.210").rename(tree / "spNO210")  # datasets.md §5: spNO.210-215 without the dot
    shutil.rmtree(tree / "spNO.10" / "f" / "depth")  # depth frames in the video folder itself
    (tree / "spNO.10" / "f" / "278.png").write_bytes(b"")
    shutil.rmtree(tree / "spNO.10" / "i" / "depth")  # no depth at all for this clip
    index, problems = casme3.scan(root)
    got = by_clip(index)
    assert len(index) == 16
    assert Path(got["spNO.1/e/96"]["frames_dir"]) == (tree / "spNo.1" / "e" / "color").resolve()
    assert Path(got["spNO.210/b/5"]["frames_dir"]) == (tree / "spNO210" / "b" / "color").resolve()
    assert Path(got["spNO.10/f/278"]["depth_dir"]) == (tree / "spNO.10" / "f").resolve()
    assert got["spNO.10/i/2864"]["depth_dir"] is None and got["spNO.10/i/2864"]["frames_dir"]
    spelled = [p for p in problems if "subject folder" in p.message]
    rows = {f"{r['Subject']}/{r['Filename']}/{r['Onset']}": f"{FA} row {r['excel_row']}" for r in sheet_rows(FIXTURES / FA)}
    assert [(p.clip, p.where) for p in spelled] == [(c, rows[c]) for c in ("spNO.1/a/355", "spNO.210/b/5")]  # once per subject, first row
    assert any(p.clip == "spNO.10/f/278" and "not in a depth/ subfolder" in p.message for p in problems)
    assert any(p.clip == "spNO.10/i/2864" and "depth modality" in p.message for p in problems)

    no_depth = make_root_a(tmp_path / "nodepth", [FIXTURES / FA], depth=False)
    index, problems = casme3.scan(no_depth)
    assert index["depth_dir"].isna().all()
    assert [p.where for p in problems if "depth" in p.message] == [FA]  # one note, not one per clip


def test_me_clip_layout_is_read_when_there_is_no_full_tree(tmp_path):
    root = tmp_path / "clips"
    (root / "annotation").mkdir(parents=True)
    shutil.copy(FIXTURES / FA, root / "annotation" / FA)
    for row in sheet_rows(FIXTURES / FA):
        name = f"{row['Subject']}_{row['Filename']}_{row['Onset']}".replace("spNO.", "spNo.")
        (root / "Part_A_ME_clip" / "frame" / name).mkdir(parents=True)
        if row["Subject"] != "spNO.1":
            (root / "Part_A_ME_clip" / "depth" / name).mkdir(parents=True)
    index, problems = casme3.scan(root)
    got = by_clip(index)
    assert len(index) == 16
    assert Path(got["spNO.14/J/1012"]["frames_dir"]) == (root / "Part_A_ME_clip/frame/spNo.14_J_1012").resolve()
    assert Path(got["spNO.14/J/1012"]["depth_dir"]) == (root / "Part_A_ME_clip/depth/spNo.14_J_1012").resolve()
    assert got["spNO.1/a/355"]["depth_dir"] is None
    assert any(p.clip == "spNO.14/J/1012" and "spNo.14_J_1012" in p.message for p in problems)
    shutil.rmtree(root / "Part_A_ME_clip/frame/spNo.1_a_355")
    _, problems = casme3.scan(root)
    assert [p.where for p in problems if p.severity == "fatal" and p.clip == "spNO.1/a/355"] == [f"{FA} row 2"]


# ---------------------------------------------------------------- label schemes and modalities


def test_schemes_cover_every_emotion_of_both_parts():
    emotions = set(casme3.EMOTIONS["A"]) | set(casme3.EMOTIONS["C"])
    assert set(SPEC.schemes) == {"own", "seven", "four", "three", "megc2019"} and SPEC.default_scheme == "four"
    for name, scheme in SPEC.schemes.items():
        assert set(scheme.mapping) == emotions, name
        assert scheme.source
    seven, four, three, megc = (SPEC.scheme(n) for n in ("seven", "four", "three", "megc2019"))
    assert seven.classes == ("happy", "disgust", "fear", "anger", "surprise", "sad", "others")
    assert seven.mapping["negative"] is None and seven.mapping["positive"] is None
    assert {e: four.mapping[e] for e in casme3.EMOTIONS["A"]} == {
        "happy": "positive", "disgust": "negative", "fear": "negative", "anger": "negative", "sad": "negative",
        "surprise": "surprise", "others": "others"}
    assert all(four.mapping[e] == e for e in casme3.EMOTIONS["C"])
    assert three.mapping["others"] is None and megc.mapping["others"] is None
    assert dict(three.mapping) == dict(megc.mapping) and megc.classes == ("negative", "positive", "surprise")
    assert SPEC.modality("depth").reader == "depth" and SPEC.modality("depth").column == "depth_dir"
    assert SPEC.modality(None).color == "rgb" and SPEC.modality("gray").column == "frames_dir"


# ---------------------------------------------------------------- the real label files


@pytest.mark.skipif(REAL is None, reason="the real CAS(ME)^3 label files (../shared/reference/annotations/casme3) are not here")
def test_real_label_files_counts(tmp_path):
    assert REAL is not None
    a = pd.read_excel(REAL / FA, sheet_name="label", dtype=str)
    root = make_root_a(tmp_path, [REAL / FA])
    index, problems = casme3.scan(root)
    bad = a[a["Offset"].astype(int) < a["Onset"].astype(int)]  # unusable rows, fatal
    usable = a.drop(bad.index)
    print(f"\nPart A: {len(a)} rows, {a['Subject'].nunique()} subjects, emotions {a['emotion'].value_counts().to_dict()}; "
          f"Index {len(index)} clips, {index['subject'].nunique()} subjects, {index['emotion'].value_counts().to_dict()}")
    assert (len(a), a["Subject"].nunique(), len(bad)) == (860, 94, 3)
    assert len(index) == len(usable) == 857 and index["subject"].nunique() == usable["Subject"].nunique() == 94
    assert index["emotion"].value_counts().to_dict() == usable["emotion"].str.lower().value_counts().to_dict()
    assert index["objective_class"].value_counts().to_dict() == usable["Objective class"].map(ROMAN).value_counts().to_dict()
    assert sorted(p.clip for p in problems if p.severity == "fatal") == sorted(f"{r.Subject}/{r.Filename}/{r.Onset}" for r in bad.itertuples())
    assert sum("'Others'" in p.message for p in problems) == (a["emotion"] == "Others").sum() == 3

    c = pd.read_excel(REAL / FC, sheet_name="mockCrimeME", dtype=str)
    index, problems = casme3.scan(make_root_c(tmp_path / "c", REAL / FC), part="C")
    print(f"Part C: {len(c)} rows, {c['sub'].nunique()} subjects, emotions {c['emotion'].value_counts().to_dict()}; "
          f"Index {len(index)} clips, {index['subject'].nunique()} subjects")
    assert (len(c), c["sub"].nunique()) == (165, 30) and "22" not in set(c["sub"])
    assert len(index) == 165 and set(index["subject"]) == set(c["sub"])
    assert index["emotion"].value_counts().to_dict() == c["emotion"].value_counts().to_dict()
    assert not [p for p in problems if p.severity == "fatal"]


# ---------------------------------------------------------------- the simulator writer


@pytest.fixture(scope="module")
def sim_a(tmp_path_factory) -> Path:
    # the ME sheet alone: the macro-expression clips and their sheet are tested in tests/synth/test_casme3_macro_writer.py
    return WRITERS["casme3"](tmp_path_factory.mktemp("casme3_a"), part="A", progress=False, macro_per_subject=0)


@pytest.fixture(scope="module")
def sim_c(tmp_path_factory) -> Path:
    return WRITERS["casme3"](tmp_path_factory.mktemp("casme3_c"), part="C", progress=False)


def test_simulated_part_a_scans_back_to_what_was_written(sim_a):
    rows = sheet_rows(sim_a / "annotation/partA" / FA)
    ws = openpyxl.load_workbook(sim_a / "annotation/partA" / FA).worksheets[0]
    assert ws.title == "label" and {c.data_type for r in ws.iter_rows() for c in r} == {"s"}  # every cell text, as the v2 file
    index, problems = casme3.scan(sim_a)
    assert problems == []
    got = by_clip(index)
    assert len(index) == len(rows) == 12 and index["subject"].nunique() == 3
    assert set(index["emotion"]) == set(casme3.EMOTIONS["A"])
    assert index.groupby(["subject", "frames_dir"]).size().max() >= 2  # MEs sharing a video folder
    for row in rows:
        r = got[f"{row['Subject']}/{row['Filename']}/{row['Onset']}"]
        assert (r["onset"], r["apex"], r["offset"]) == (int(row["Onset"]), int(row["Apex"]), int(row["Offset"]))
        assert r["onset"] < r["apex"] < r["offset"] and r["emotion"] == row["emotion"]
        assert r["objective_class"] == ROMAN[row["Objective class"]]
        assert r["aus"] == [a if a[0] in "LR" else f"AU{a}" for a in row["AU"].split("+")]
        span = set(range(r["onset"], r["offset"] + 1))
        color = {int(p.stem) for p in Path(r["frames_dir"]).glob("*.jpg")}
        depth = {int(p.stem) for p in Path(r["depth_dir"]).glob("*.png")}
        assert span <= color and span <= depth and Path(r["frames_dir"]).parent == Path(r["depth_dir"]).parent
    assert check_clip_files(index, SPEC.modalities, deep=True) == []
    first = index.iloc[0]
    image = cv2.imread(str(Path(first["frames_dir"]) / f"{first['onset']}.jpg"))
    depth, numbers = read_depth(first["depth_dir"], first["onset"], first["offset"])
    assert image.shape == (48, 86, 3) and depth.shape == (first["offset"] - first["onset"] + 1, 1, 48, 86)
    assert numbers.tolist() == list(range(first["onset"], first["offset"] + 1))
    face = depth[0, 0, 24, 43]  # frame centre: the face
    assert 600 <= face <= 700 and np.nanmax(depth) > 1300 and np.isnan(depth).any()  # wall behind, sensor holes


def test_simulated_part_c_scans_back_and_is_deterministic(sim_c, tmp_path):
    rows = sheet_rows(sim_c / "annotation/partC" / FC)
    index, problems = casme3.scan(sim_c, part="C")
    assert [(p.severity, p.where) for p in problems] == [("warning", FC)]  # the no-apex note, as for the real file
    assert len(index) == len(rows) == 10 and set(index["subject"]) == {"1", "2", "4"}
    assert set(index["emotion"]) == set(casme3.EMOTIONS["C"]) and index["depth_dir"].isna().all()
    for row in rows:
        r = by_clip(index)[f"{row['sub']}/{row['count']}"]
        assert (r["onset"], r["offset"]) == (row["onset"], row["offset"])
        assert isinstance(row["onset"], int) and isinstance(row["au"], (int, str))
    modalities = {k: v for k, v in SPEC.modalities.items() if k != "depth"}
    assert check_clip_files(index, modalities, deep=True) == []
    depth_problems = check_clip_files(index, {"depth": SPEC.modality("depth")})
    assert len(depth_problems) == len(index) and all(p.severity == "fatal" and "no depth folder" in p.message for p in depth_problems)
    again = WRITERS["casme3"](tmp_path / "again", part="C", progress=False)
    assert (again / "annotation/partC" / FC).read_bytes() == (sim_c / "annotation/partC" / FC).read_bytes()
    some = sorted((sim_c / "ME_C").rglob("*.jpg"))[0]
    assert (again / some.relative_to(sim_c)).read_bytes() == some.read_bytes()
    with pytest.raises(DataError, match=r"unknown part 'B'"):
        WRITERS["casme3"](tmp_path / "b", part="B")


def test_writer_plans_the_published_counts_and_overrides():
    from mer4d.synth.writers import casme3 as writer

    for part, published in (("A", writer.PUBLISHED_A), ("C", writer.PUBLISHED_C)):
        jobs = writer._plan(part, writer.SIZES[part]["published"], 0, "published")
        emotions = pd.Series([j.emotion for j in jobs]).value_counts().to_dict()
        assert emotions == writer.PUBLISHED_EMOTIONS[part] and len(jobs) == sum(n for _, n in published)
        assert pd.Series([j.number for j in jobs]).value_counts().to_dict() == dict(published)
        clips = {(j.number, j.video, j.onset) for j in jobs}
        assert len(clips) == len(jobs)  # unique clip ids
    jobs = writer._plan("A", writer.SIZES["A"]["published"], 0, "published")
    by_video = pd.DataFrame([(j.number, j.video, j.onset) for j in jobs], columns=["s", "v", "onset"]).sort_values("onset")
    gaps = by_video.groupby(["s", "v"])["onset"].diff().dropna()
    assert (gaps >= 40).all() and set("".join(by_video["v"])) <= set(writer.VIDEOS)  # MEs of one video never overlap
    spec = writer._size_spec("C", "quick", {"subjects": 4, "clips_per_subject": 2, "size_px": 32})
    assert spec.subjects == ((1, 2), (2, 2), (3, 2), (4, 2)) and spec.size_px == 32
    with pytest.raises(DataError, match=r"unknown override\(s\) \['fps'\]"):
        writer._size_spec("A", "quick", {"fps": 60})
    with pytest.raises(DataError, match=r"at least 2 subjects"):
        writer._size_spec("A", "quick", {"subjects": 1})


# ---------------------------------------------------------------- corrupted copies


@pytest.fixture()
def broken(sim_a, tmp_path) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(sim_a, copy)
    return copy


def edit_sheet(root: Path, excel_row: int, column: str, value) -> None:
    path = root / "annotation/partA" / FA
    book = openpyxl.load_workbook(path)
    ws = book["label"]
    names = [c.value for c in ws[1]]
    ws.cell(row=excel_row, column=names.index(column) + 1).value = value  # cell(value=None) would keep the old value
    book.save(path)


def test_missing_subject_folder_is_fatal_for_its_rows(broken):
    shutil.rmtree(broken / TREE_A / "spNO.2")
    index, problems = casme3.scan(broken)
    fatal = [p for p in problems if p.severity == "fatal"]
    assert len(index) == 8 and len(fatal) == 4
    assert all(p.clip.startswith("spNO.2/") and "subject folder spNO.2 is missing" in p.message for p in fatal)


def test_label_row_without_a_folder_is_fatal(broken):
    rows = sheet_rows(broken / "annotation/partA" / FA)
    row = rows[0]
    shutil.rmtree(broken / TREE_A / row["Subject"] / row["Filename"])
    index, problems = casme3.scan(broken)
    fatal = [p for p in problems if p.severity == "fatal"]
    lost = [r for r in rows if (r["Subject"], r["Filename"]) == (row["Subject"], row["Filename"])]
    assert len(index) == 12 - len(lost) and [p.where for p in fatal] == [f"{FA} row {r['excel_row']}" for r in lost]
    assert f"no video folder {row['Filename']}" in fatal[0].message


def test_bad_cells_are_named(broken):
    rows = sheet_rows(broken / "annotation/partA" / FA)
    edit_sheet(broken, 2, "AU", "4+AU99")
    edit_sheet(broken, 3, "emotion", None)
    onset, offset = int(rows[2]["Onset"]), int(rows[2]["Offset"])
    edit_sheet(broken, 4, "Apex", str(offset + 50))
    edit_sheet(broken, 5, "Objective class", "VIII")
    index, problems = casme3.scan(broken)
    found = {p.where: p for p in problems}
    assert len(index) == 11
    assert found[f"{FA} row 2"].severity == "warning" and "AU99" in found[f"{FA} row 2"].message
    assert by_clip(index)[f"{rows[0]['Subject']}/{rows[0]['Filename']}/{rows[0]['Onset']}"]["aus"] == ["AU4"]
    assert found[f"{FA} row 3"].severity == "fatal" and "no emotion label" in found[f"{FA} row 3"].message
    assert found[f"{FA} row 4"].severity == "warning" and "outside onset..offset" in found[f"{FA} row 4"].message
    assert by_clip(index)[f"{rows[2]['Subject']}/{rows[2]['Filename']}/{rows[2]['Onset']}"]["apex"] == (onset + offset) // 2
    assert "'VIII' is not a class I..VII" in found[f"{FA} row 5"].message


def test_bad_frame_files_are_found_by_the_deep_check(broken):
    index, _ = casme3.scan(broken)
    clip = index.iloc[0]
    color, depth = Path(clip["frames_dir"]), Path(clip["depth_dir"])
    (color / f"{clip['onset']}.jpg").write_bytes(b"")
    (color / f"{clip['apex']}.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    cv2.imwrite(str(depth / f"{clip['offset']}.png"), np.full((48, 86), 200, dtype=np.uint8))  # an 8-bit visualisation
    problems = check_clip_files(index, SPEC.modalities, deep=True)
    reasons = {Path(p.where).relative_to(color.parent).as_posix(): p.message for p in problems if p.clip == clip["clip_id"]}
    # rgb and gray both read frames_dir, so each colour frame is reported for both; depth once
    assert all(p.severity == "fatal" for p in problems) and len(problems) == 5 and len({(p.where, p.message) for p in problems}) == 3
    assert reasons[f"color/{clip['onset']}.jpg"] == "empty file (0 bytes)"
    assert "not a decodable image" in reasons[f"color/{clip['apex']}.jpg"]
    assert "expected 16-bit single-channel" in reasons[f"depth/{clip['offset']}.png"]


def test_a_second_label_version_is_named(broken):
    shutil.copy(broken / "annotation/partA" / FA, broken / "annotation/partA" / FA1)
    index, problems = casme3.scan(broken)
    assert len(index) == 12 and set(index["source"].str.split(" row ").str[0]) == {FA}
    assert [(p.severity, p.where) for p in problems] == [("warning", FA1)]
