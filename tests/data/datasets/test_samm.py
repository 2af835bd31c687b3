"""SAMM: the spec against real rows of the v2 label file, the full real file where present, the
simulator's layout read back, and corrupted copies of it (datasets.md §2, §0, §9)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import openpyxl
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets import DATASETS
from mer4d.data.datasets.samm import EMOTIONS, LABEL_FILE, SPEC, label_version, samm_au_codes, scan
from mer4d.data.filecheck import check_clip_files, check_dataset
from mer4d.data.readers.frames import list_frames
from mer4d.synth.writers import WRITERS
from mer4d.synth.writers.samm import HEADER, HEADER_ROW, PREAMBLE, PUBLISHED_EMOTIONS, PUBLISHED_SUBJECTS, SIZES, write_samm

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "samm"
FIXTURE_FILE = FIXTURES / LABEL_FILE
RELATIVE = Path("reference/annotations/samm") / LABEL_FILE
REAL = next((p for p in (REPO.parent / "shared" / RELATIVE, Path("/work/shared") / RELATIVE) if p.is_file()), None)
GT = None if REAL is None else REAL.parents[1] / "megc2019" / "combined_3class_gt.csv"

# Hand-read from the fixture rows (real rows of the v2 file): clip -> canonical AU codes.
FIXTURE_AUS = {
    "006/006_1_2": ["AU4", "AU7"], "006/006_1_3": ["AU4"], "006/006_3_5": ["AU25", "AU26"], "006/006_5_10": ["L20", "AU21"],
    "007/007_4_2": ["AU24"], "007/007_6_1": ["R6", "R12", "R15"], "007/007_6_5": ["R6", "R12", "R15"], "010/010_2_1": ["AU7", "AU43"],
    "010/010_4_2": ["AU7", "AU43"], "011/011_4_2": ["L12", "L14"], "011/011_6_1": ["AU10"], "014/014_6_3": ["A12", "L12"],
    "020/020_1_3": ["B18", "AU25"], "026/026_5_1": ["R14", "AU17"], "028/028_4_1": ["A14"], "030/030_1_1": ["AU4"], "032/032_3_1": ["AU4"],
    "033/033_1_4": ["AU12", "AU15"], "035/035_7_2": ["R14", "AU17", "AU24"], "037/037_3_2": ["T23"],
}
# The problems the fixture must raise, and no others: clip -> a phrase of the message (all warnings).
FIXTURE_PROBLEMS = {
    "007/007_6_1": "alternatives", "007/007_6_5": "alternatives", "010/010_2_1": "'ref(7B)' read as 7B", "010/010_4_2": "'ref(43)' read as 43",
    "011/011_4_2": "alternatives", "014/014_6_3": "all of A12, L12 kept", "026/026_5_1": "['soft focus'] not FACS", "028/028_4_1": "apex 1143 is outside",
    "032/032_3_1": "apex 1930 is outside", "035/035_7_2": "all of R14A, 17A, 24A kept",
}


def fixture_rows() -> tuple:
    """``REAL_ROWS`` of the fixture script (real row number, cells), imported from its file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("samm_fixture_script", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.REAL_ROWS


def make_root(tmp: Path, label: Path, tree: str | None = "SAMM") -> Path:
    """A root with ``label`` and an empty clip folder for every row it names (the scan reads folders, not frames)."""
    root = tmp / "root"
    root.mkdir()
    shutil.copy(label, root / LABEL_FILE)
    sheet = pd.read_excel(label, header=HEADER_ROW - 1, dtype=str)
    for subject, filename in zip(sheet["Subject"], sheet["Filename"], strict=True):
        (root / tree / subject / filename if tree else root / subject / filename).mkdir(parents=True, exist_ok=True)
    return root


def edit_sheet(path: Path, row: int, **cells) -> None:
    """Set cells of data row ``row`` (1 = the first clip, Excel row 15) by header name."""
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[HEADER_ROW]]
    for name, value in cells.items():
        sheet.cell(row=HEADER_ROW + row, column=header.index(name.replace("_", " ")) + 1).value = value
    book.save(path)


def hits(problems, severity: str, text: str) -> list:
    found = [p for p in problems if p.severity == severity and text in p.message]
    assert found, f"no {severity} problem with {text!r} in {[(p.severity, p.clip, p.message) for p in problems]}"
    return found


# --- the fixture: real rows, every quirk ------------------------------------------------------


@pytest.fixture
def fixture_root(tmp_path) -> Path:
    return make_root(tmp_path, FIXTURE_FILE)


def test_fixture_rows_become_the_index_the_sheet_describes(fixture_root):
    index, problems = scan(fixture_root)
    sheet = pd.read_excel(FIXTURE_FILE, header=HEADER_ROW - 1, dtype=str)
    assert list(index["clip_id"]) == [f"{s}/{f}" for s, f in zip(sheet["Subject"], sheet["Filename"], strict=True)]
    assert list(index["subject"]) == list(sheet["Subject"])  # '006', never 6
    assert list(index["emotion"]) == [e.lower() for e in sheet["Estimated Emotion"]]
    assert "other" in set(index["emotion"]) and set(index["emotion"]) == set(EMOTIONS)
    assert dict(zip(index["clip_id"], index["aus"], strict=True)) == FIXTURE_AUS
    assert set(index["kind"]) == {"micro"} and set(index["fps"]) == {200.0} and index["fold"].isna().all()
    assert list(index["onset"]) == [int(v) for v in sheet["Onset Frame"]]
    assert list(index["offset"]) == [int(v) for v in sheet["Offset Frame"]]
    assert list(index["objective_class"]) == [int(v) for v in sheet["Objective Classes"]]
    assert list(index["inducement_code"]) == [int(v) for v in sheet["Inducement Code"]]
    notes = dict(zip(index["clip_id"], index["notes"], strict=True))
    assert notes["007/007_4_2"] == "L12?" and notes["006/006_1_2"] is None  # '?' in a note stays text, not an AU
    assert index.set_index("clip_id").loc["006/006_1_2", "source"] == f"{LABEL_FILE} row 15"
    assert index.set_index("clip_id").loc["006/006_1_2", "frames_dir"] == str((fixture_root / "SAMM" / "006" / "006_1_2").resolve())
    assert {p.clip: p.severity for p in problems} == dict.fromkeys(FIXTURE_PROBLEMS, "warning")
    for clip, phrase in FIXTURE_PROBLEMS.items():
        assert any(p.clip == clip and phrase in p.message for p in problems), (clip, phrase)


def test_an_apex_outside_the_clip_becomes_the_middle_frame(fixture_root):
    index, problems = scan(fixture_root)
    apex = dict(zip(index["clip_id"], index["apex"], strict=True))
    assert apex["028/028_4_1"] == (1071 + 1134) // 2  # apex 1143 after offset 1134
    assert apex["032/032_3_1"] == (4896 + 4970) // 2  # apex 1930 before onset 4896
    assert apex["006/006_1_2"] == 5588
    assert [p.where for p in problems if "apex" in p.message] == [f"{LABEL_FILE} row 29", f"{LABEL_FILE} row 31"]


@pytest.mark.parametrize(("cell", "codes", "warned"), [
    ("4+7", ["AU4", "AU7"], None),
    ("12+15 ", ["AU12", "AU15"], None),
    ("L12 + 61", ["L12", "AU61"], None),
    ("A9E+ref(10)", ["A9", "AU10"], "'ref(10)' read as 10"),
    ("ref(L10)+A12B", ["L10", "A12"], "'ref(L10)' read as L10"),
    ("4D+ref(6)+7C+43E", ["AU4", "AU6", "AU7", "AU43"], "ref(6)"),
    ("10A/B", ["AU10"], None),  # '/' between intensities: the AU is certain
    ("R12 or R14", ["R12", "R14"], "alternatives"),
    ("A/L12", ["A12", "L12"], "alternatives"),
    ("12?", ["AU12"], "'?' marks an AU with an unclear offset"),
    ("4+L12?", ["AU4", "L12"], "unclear offset"),
    ("?", [], "['?'] not FACS"),
    ("13?+R14", ["AU13", "R14"], "unclear offset"),
    ("4+99", ["AU4"], "['AU99'] not FACS"),
    ("", [], "no Action Units coded"),
])
def test_samm_au_notation(cell, codes, warned):
    found, problems = samm_au_codes(cell, "sheet row 1", "006/006_1_2")
    assert found == codes
    if warned is None:
        assert problems == []
    else:
        assert any(warned in p.message for p in problems) and {p.severity for p in problems} == {"warning"}
        assert all(p.where == "sheet row 1" and p.clip == "006/006_1_2" for p in problems)


def test_a_resaved_copy_with_numeric_subjects_and_plural_others(fixture_root):
    edit_sheet(fixture_root / LABEL_FILE, 1, Subject=6)
    edit_sheet(fixture_root / LABEL_FILE, 5, Estimated_Emotion="Others")
    index, problems = scan(fixture_root)
    row = index.set_index("clip_id")
    assert row.loc["006/006_1_2", "subject"] == "006"
    assert row.loc["007/007_4_2", "emotion"] == "other"
    assert hits(problems, "warning", "Subject '6' read as '006'")[0].where == f"{LABEL_FILE} row 15"
    assert hits(problems, "warning", "'Others' read as 'other'")[0].clip == "007/007_4_2"


def test_unpadded_subject_folder_is_fatal_with_a_rename_hint(fixture_root):
    (fixture_root / "SAMM" / "037").rename(fixture_root / "SAMM" / "37")
    index, problems = scan(fixture_root)
    assert "037/037_3_2" not in set(index["clip_id"])
    assert "rename it 037" in hits(problems, "fatal", "subject folder 037 is missing")[0].message


def test_micro_column_and_duration_checks(fixture_root):
    edit_sheet(fixture_root / LABEL_FILE, 1, Micro="Macro")
    edit_sheet(fixture_root / LABEL_FILE, 2, Micro="?", Duration=50)
    index, problems = scan(fixture_root)
    kind = dict(zip(index["clip_id"], index["kind"], strict=True))
    assert kind["006/006_1_2"] == "macro" and kind["006/006_1_3"] == "micro"
    assert hits(problems, "warning", "Micro '?' is neither")[0].clip == "006/006_1_3"
    assert hits(problems, "warning", "Duration 50 is not offset - onset + 1 = 77")[0].where == f"{LABEL_FILE} row 16"


def test_unknown_and_empty_cells(fixture_root):
    edit_sheet(fixture_root / LABEL_FILE, 1, Estimated_Emotion="Joy")
    edit_sheet(fixture_root / LABEL_FILE, 2, Onset_Frame="x", Objective_Classes=9)
    index, problems = scan(fixture_root)
    assert {"006/006_1_2", "006/006_1_3"}.isdisjoint(index["clip_id"])
    assert hits(problems, "fatal", "emotion 'Joy' is not one of")[0].where == f"{LABEL_FILE} row 15"
    assert hits(problems, "fatal", "onset 'x' is not a frame number")[0].clip == "006/006_1_3"
    hits(problems, "warning", "Objective Classes '9' is not a class 1..7")


# --- label-file versions, frame trees, options -------------------------------------------------


def test_label_file_names_and_versions():
    assert label_version("SAMM_Micro_FACS_Codes_v2.xlsx") == (2, "")
    assert label_version("SAMM_20181215_Micro_FACS_Codes_v2.xlsx") == (2, "20181215")
    assert label_version("samm_micro_facs_codes.xlsx") == (1, "")
    assert label_version("SAMM_LongVideos_V2_Release.xlsx") is None


def test_several_versions_use_the_newest_and_name_the_others(fixture_root):
    shutil.copy(fixture_root / LABEL_FILE, fixture_root / "SAMM_Micro_FACS_Codes.xlsx")
    index, problems = scan(fixture_root)
    assert len(index) == len(FIXTURE_AUS)
    warning = hits(problems, "warning", "several SAMM label files")[0]
    assert warning.where == "SAMM_Micro_FACS_Codes.xlsx" and f"using {LABEL_FILE}" in warning.message
    dated = fixture_root / "SAMM_20181215_Micro_FACS_Codes_v2.xlsx"
    shutil.copy(fixture_root / LABEL_FILE, dated)
    edit_sheet(dated, 1, Estimated_Emotion="Happiness")
    index, problems = scan(fixture_root)
    assert index["emotion"].iat[0] == "happiness"  # the dated v2 copy is the newest
    assert len(hits(problems, "warning", f"using {dated.name}")) == 2
    index, _ = scan(fixture_root, label_file=LABEL_FILE)
    assert index["emotion"].iat[0] == "anger"
    with pytest.raises(DataError, match="label_file 'nope.xlsx' is not a file"):
        scan(fixture_root, label_file="nope.xlsx")


def test_a_label_file_beside_the_subject_folders(fixture_root):
    (fixture_root / LABEL_FILE).rename(fixture_root / "SAMM" / LABEL_FILE)
    index, problems = scan(fixture_root)
    assert len(index) == len(FIXTURE_AUS) and problems[0].where.startswith(LABEL_FILE)
    shutil.copy(fixture_root / "SAMM" / LABEL_FILE, fixture_root / LABEL_FILE)
    _, problems = scan(fixture_root)  # the same version in the root wins, the other is named with its folder
    assert hits(problems, "warning", f"using {LABEL_FILE} ")[0].where == f"SAMM/{LABEL_FILE}"


def test_no_label_file_names_what_was_looked_for(tmp_path):
    (tmp_path / "SAMM" / "006").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no SAMM label file SAMM_Micro_FACS_Codes_v2\.xlsx .* holds no spreadsheet"):
        scan(tmp_path)
    (tmp_path / "SAMM_LongVideos_V2_Release.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match="spotting annotation of the long videos"):
        scan(tmp_path)


def test_a_v1_file_without_emotion_classes_is_refused(fixture_root):
    book = openpyxl.load_workbook(fixture_root / LABEL_FILE)
    book.active.delete_cols(10, 2)  # Estimated Emotion, Objective Classes
    (fixture_root / LABEL_FILE).unlink()
    book.save(fixture_root / "SAMM_Micro_FACS_Codes.xlsx")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['Estimated Emotion'\] \(the v1 file predates the emotion classes"):
        scan(fixture_root)


def test_frame_trees(tmp_path):
    flat = make_root(tmp_path, FIXTURE_FILE, tree=None)  # subject folders directly in the root (the MEGC2019 composite's SAMM/)
    index, _ = scan(flat)
    assert index["frames_dir"].iat[0] == str((flat / "006" / "006_1_2").resolve())
    with pytest.raises(DataError, match="no cropped frame folder SAMM_CROP/"):
        scan(flat, frames="cropped")
    with pytest.raises(DataError, match=r"unknown frames 'crop'; expected one of \['cropped', 'raw'\]"):
        scan(flat, frames="crop")


def test_schemes_cover_every_emotion():
    for name, scheme in SPEC.schemes.items():
        assert set(scheme.mapping) == set(EMOTIONS), name
    assert SPEC.scheme("own").classes == EMOTIONS
    assert SPEC.scheme("five").classes == ("anger", "contempt", "happiness", "surprise", "other")
    assert [e for e in EMOTIONS if SPEC.scheme("five").mapping[e] is None] == ["disgust", "fear", "sadness"]
    megc = SPEC.scheme("megc2019").mapping  # MEGC2019 guideline, datasets.md §9
    assert {e for e in EMOTIONS if megc[e] == "negative"} == {"anger", "contempt", "disgust", "fear", "sadness"}
    assert (megc["happiness"], megc["surprise"], megc["other"]) == ("positive", "surprise", None)
    assert DATASETS.get("samm") is SPEC and SPEC.modality(None).color == "gray" and SPEC.writer in WRITERS


# --- the full real file (skipped in a clone without ../shared) ---------------------------------


@pytest.mark.skipif(REAL is None, reason="the real SAMM_Micro_FACS_Codes_v2.xlsx is not available (../shared/reference)")
def test_the_real_v2_file(tmp_path):
    sheet = pd.read_excel(REAL, sheet_name="MICRO_ONLY", header=13, dtype=str)  # independent read: datasets.md §2
    root = make_root(tmp_path, REAL)
    index, problems = scan(root)
    counts = index["emotion"].value_counts().to_dict()
    print(f"\nSAMM v2: {len(index)} clips, {index['subject'].nunique()} subjects, {counts}, {len(problems)} warnings")
    assert len(index) == len(sheet) == 159
    assert index["subject"].nunique() == sheet["Subject"].nunique() == 29
    assert list(index["subject"]) == list(sheet["Subject"])
    assert counts == sheet["Estimated Emotion"].str.lower().value_counts().to_dict()
    assert counts == {"anger": 57, "other": 26, "happiness": 26, "surprise": 15, "contempt": 12, "disgust": 9, "fear": 8, "sadness": 6}
    assert index["objective_class"].value_counts().to_dict() == sheet["Objective Classes"].astype(int).value_counts().to_dict()
    # warned clips, found independently: AU cells with ref(), 'or', a prefix choice or words; apexes outside the clip
    odd = sheet["Action Units"].str.contains(r"ref\(|\bor\b|(?:^|\+)\s*[LRAT]/|[a-z]{3}", regex=True)
    onset, apex, offset = (sheet[c].astype(int) for c in ("Onset Frame", "Apex Frame", "Offset Frame"))
    outside = (apex < onset) | (apex > offset)
    expected = {f"{s}/{f}" for s, f in zip(sheet["Subject"][odd | outside], sheet["Filename"][odd | outside], strict=True)}
    assert {p.severity for p in problems} == {"warning"} and {p.clip for p in problems} == expected
    print(f"{len(expected)} clips with warnings: {int(odd.sum())} AU cells, {int(outside.sum())} apexes")
    assert index["emotion"].map(SPEC.scheme("five").mapping.get).notna().sum() == 136
    # the simulator's published size and preamble are the real file's
    assert PUBLISHED_SUBJECTS == sheet["Subject"].value_counts(sort=False).to_dict()
    assert PUBLISHED_EMOTIONS == sheet["Estimated Emotion"].value_counts().to_dict() and sum(SIZES["published"].per_subject) == 159
    real = openpyxl.load_workbook(REAL, data_only=True)["MICRO_ONLY"]
    cells = {(c.row, c.column_letter, c.value) for row in real.iter_rows(max_row=HEADER_ROW - 1) for c in row if c.value is not None}
    assert cells == set(PREAMBLE) and tuple(c.value for c in real[HEADER_ROW]) == HEADER
    for number, values in fixture_rows():  # the fixture holds these rows exactly
        assert tuple(c.value for c in real[number]) == values, number


@pytest.mark.skipif(GT is None or not GT.is_file(), reason="the MEGC2019 ground truth is not available (../shared/reference)")
def test_the_megc2019_scheme_gives_the_official_samm_ground_truth(tmp_path):
    index, _ = scan(make_root(tmp_path, REAL))
    truth = pd.read_csv(GT, header=None, dtype=str)
    truth = truth[truth[0] == "samm"]
    classes = {"0": "negative", "1": "positive", "2": "surprise"}
    official = {f"{int(s):03d}/{c}": classes[label] for s, c, label in zip(truth[1], truth[2], truth[3], strict=True)}
    mapping = SPEC.scheme("megc2019").mapping
    ours = {c: mapping[e] for c, e in zip(index["clip_id"], index["emotion"], strict=True) if mapping[e] is not None}
    print(f"\nSAMM in MEGC2019: {len(ours)} clips, {len({c.split('/')[0] for c in ours})} subjects")
    assert ours == official and len(ours) == 133 and len({c.split("/")[0] for c in ours}) == 28


# --- the simulator's layout, read back -----------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write_samm(tmp_path_factory.mktemp("samm"), seed=1, progress=False)


def _expected_codes(cell) -> list[str]:
    """Naive reading of the simulator's AU cells: intensity letters (and '/B') dropped, bare numbers -> AU<n>."""
    out = []
    for token in str(cell).split("+"):
        token = re.sub(r"[A-E](/[A-E])?$", "", token.strip())
        out.append(token if token[0] in "LR" else f"AU{token}")
    return out


def test_the_simulator_writes_what_the_spec_reads(clean):
    index, problems = check_dataset(SPEC, clean, {}, deep=True)
    assert problems == []
    sheet = openpyxl.load_workbook(clean / LABEL_FILE)["MICRO_ONLY"]
    assert {(c.row, c.column_letter, c.value) for row in sheet.iter_rows(max_row=HEADER_ROW - 1) for c in row if c.value is not None} == set(PREAMBLE)
    assert tuple(c.value for c in sheet[HEADER_ROW]) == HEADER
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    assert [r[6] for r in rows] == [f"=SUM(F{n}-D{n})+1" for n in range(15, 15 + len(rows))]
    assert {r[7] for r in rows} == {"Micro - 1/2"} and all(isinstance(r[0], str) for r in rows)
    assert len(index) == len(rows) == 12 and list(index["subject"].unique()) == ["006", "007", "009"]
    assert list(index["clip_id"]) == [f"{r[0]}/{r[1]}" for r in rows]
    assert list(zip(index["onset"], index["apex"], index["offset"], strict=True)) == [(r[3], r[4], r[5]) for r in rows]
    assert list(index["emotion"]) == [r[9].lower() for r in rows] and set(index["emotion"]) == set(EMOTIONS)
    assert list(index["aus"]) == [_expected_codes(r[8]) for r in rows]
    for row in index.itertuples():
        listing = list_frames(row.frames_dir)
        assert [n for n, _ in listing] == list(range(row.onset, row.offset + 1))
        digits = 5 if row.clip_id.startswith("006/006_1_") else 4
        assert all(re.fullmatch(rf"{row.subject}_\d{{{digits}}}\.jpg", p.name) for n, p in listing if n < 10**digits), row.clip_id
        image = cv2.imread(str(listing[0][1]), cv2.IMREAD_UNCHANGED)
        assert image.ndim == 2 and image.shape == (48, 70)  # single-channel, 960:650 aspect


def test_the_simulator_is_deterministic_and_writes_the_cropped_tree(tmp_path):
    a = write_samm(tmp_path / "a", seed=5, progress=False, frames="cropped", subjects=2, clips_per_subject=1, size_px=32)
    b = write_samm(tmp_path / "b", seed=5, progress=False, frames="cropped", subjects=2, clips_per_subject=1, size_px=32)
    assert (a / LABEL_FILE).read_bytes() == (b / LABEL_FILE).read_bytes()
    first = sorted((a / "SAMM_CROP").rglob("*.jpg"))[0]
    assert first.read_bytes() == (b / first.relative_to(a)).read_bytes()
    assert not (a / "SAMM").exists()
    index, problems = check_dataset(SPEC, a, {"frames": "cropped"}, deep=False)
    assert problems == [] and len(index) == 2 and cv2.imread(str(first), cv2.IMREAD_UNCHANGED).shape == (32, 32)
    with pytest.raises(DataError, match="unknown override"):
        write_samm(tmp_path / "c", subject=2)


# --- corrupted copies of the simulated dataset ---------------------------------------------------


@pytest.fixture
def copy(clean, tmp_path) -> Path:
    return Path(shutil.copytree(clean, tmp_path / "copy"))


def first_clip(root: Path) -> Path:
    return sorted((root / "SAMM").glob("*/*"))[0]


def test_missing_subject_folder(copy):
    shutil.rmtree(copy / "SAMM" / "007")
    index, problems = scan(copy)
    assert "007" not in set(index["subject"]) and len(index) == 8
    missing = hits(problems, "fatal", "subject folder 007 is missing")
    assert len(missing) == 4 and all(p.clip.startswith("007/") and p.where.startswith(f"{LABEL_FILE} row ") for p in missing)


def test_a_label_row_without_its_folder(copy):
    folder = first_clip(copy)
    shutil.rmtree(folder)
    index, problems = scan(copy)
    clip = f"{folder.parent.name}/{folder.name}"
    assert clip not in set(index["clip_id"]) and len(index) == 11
    assert hits(problems, "fatal", f"no clip folder {folder.name}")[0].clip == clip


def test_an_au99_token(copy):
    edit_sheet(copy / LABEL_FILE, 1, Action_Units="4+99")
    index, problems = scan(copy)
    assert index["aus"].iat[0] == ["AU4"]
    assert hits(problems, "warning", "['AU99'] not FACS")[0].where == f"{LABEL_FILE} row 15"


def test_an_empty_emotion_cell(copy):
    edit_sheet(copy / LABEL_FILE, 2, Estimated_Emotion=None)
    index, problems = scan(copy)
    problem = hits(problems, "fatal", "no emotion label")[0]
    assert problem.where == f"{LABEL_FILE} row 16" and problem.clip not in set(index["clip_id"]) and len(index) == 11


def test_an_apex_outside_the_clip_is_repaired(copy):
    before, _ = scan(copy)
    onset, offset = int(before["onset"].iat[0]), int(before["offset"].iat[0])
    edit_sheet(copy / LABEL_FILE, 1, Apex_Frame=offset + 50)
    index, problems = scan(copy)
    assert index["apex"].iat[0] == (onset + offset) // 2
    hits(problems, "warning", f"apex {offset + 50} is outside onset..offset {onset}..{offset}")
    assert check_clip_files(index, SPEC.modalities, deep=True) == []


def test_a_zero_byte_and_an_undecodable_frame(copy):
    index, _ = scan(copy)
    frames = list_frames(index["frames_dir"].iat[0])
    frames[2][1].write_bytes(b"")
    frames[5][1].write_bytes(b"not a jpeg at all")
    quick = check_clip_files(index, SPEC.modalities, deep=False)
    assert [(p.where, p.message) for p in quick] == [(str(frames[2][1]), "empty file (0 bytes)")]
    deep = check_clip_files(index, SPEC.modalities, deep=True)
    assert hits(deep, "fatal", "not a decodable image")[0].where == str(frames[5][1])
    assert {p.clip for p in deep} == {index["clip_id"].iat[0]}


def test_a_missing_frame_inside_the_clip(copy):
    index, _ = scan(copy)
    frames = list_frames(index["frames_dir"].iat[1])
    frames[3][1].unlink()
    problem = hits(check_clip_files(index, SPEC.modalities), "fatal", "1 frame(s) between onset")[0]
    assert problem.clip == index["clip_id"].iat[1] and str(frames[3][0]) in problem.message


def test_a_second_version_of_the_label_file(copy):
    shutil.copy(copy / LABEL_FILE, copy / "SAMM_Micro_FACS_Codes.xlsx")
    index, problems = scan(copy)
    assert len(index) == 12
    assert hits(problems, "warning", "ignoring SAMM_Micro_FACS_Codes.xlsx")[0].where == "SAMM_Micro_FACS_Codes.xlsx"
