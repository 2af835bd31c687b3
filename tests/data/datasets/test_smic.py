"""The SMIC spec: the clip release's folder labels and the third-party apex list, SMIC-E's sheet, the writer.

The fixture ``tests/fixtures/smic/smic_apex.xlsx`` holds 13 rows copied cell for cell from the
circulating third-party apex list (8-, 7- and 6-digit frame numbers, an apex one frame before the
offset, three of the trailing rows without offset and paths).
"""

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets.smic import SPEC, scan
from mer4d.data.filecheck import check_clip_files
from mer4d.synth.writers.smic import write_smic

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "tests" / "fixtures" / "smic" / "smic_apex.xlsx"
REAL_APEX = next((p for base in (REPO.parent / "shared", Path("/work/shared"))
                  if (p := base / "reference" / "annotations" / "smic" / "smic_apex-third-party.xlsx").exists()), None)
LABELS = {0: "negative", 1: "positive", 2: "surprise"}


def fatal(problems):
    return [p for p in problems if p.severity == "fatal"]


def begin(problems, *prefixes) -> bool:
    """The problems' messages start with ``prefixes``, one each, in order."""
    return len(problems) == len(prefixes) and all(p.message.startswith(x) for p, x in zip(problems, prefixes, strict=True))


def build_tree(root: Path, apex_sheet: Path, frames: str = "all") -> pd.DataFrame:
    """Clip folders (zero-byte frames) for every row of an apex list; the rows as pandas reads them.

    A row without offset gets frames up to apex + 3. ``frames="ends"``: only onset, apex and offset files.
    """
    rows = pd.read_excel(apex_sheet)
    rows["last"] = rows["offset_frame"].fillna(rows["apex_frame"] + 3).astype(int)
    for r in rows.itertuples():
        folder = root / "SMIC_all_cropped" / "HS" / f"s{r.subject}" / "micro" / LABELS[r.label] / r.clip
        folder.mkdir(parents=True)
        numbers = range(r.onset_frame, r.last + 1) if frames == "all" else {r.onset_frame, r.apex_frame, r.last}
        for n in numbers:
            (folder / f"reg_image{n:06d}.bmp").touch()
    return rows


def test_fixture_apex_list_gives_the_apexes_and_folders_the_labels(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "smic_apex.xlsx")
    rows = build_tree(tmp_path, FIXTURE)
    index, problems = scan(tmp_path)
    assert problems == []
    index = index.set_index("clip_id")
    assert sorted(index.index) == sorted(f"s{r.subject}/{r.clip}" for r in rows.itertuples())
    for r in rows.itertuples():
        clip = index.loc[f"s{r.subject}/{r.clip}"]
        assert (clip.subject, clip.emotion, clip.fps, clip.kind) == (f"s{r.subject}", LABELS[r.label], 100.0, "micro")
        assert (clip.onset, clip.apex, clip.offset) == (r.onset_frame, r.apex_frame, r.last)
        assert Path(clip.frames_dir).name == r.clip and clip.aus == [] and clip.fold is None
    assert index.loc["s20/s20_ne_01", "source"].endswith("smic_apex.xlsx row 2")


@pytest.mark.skipif(REAL_APEX is None, reason="the real annotation files (../shared) are not here")
def test_real_apex_list_scans_to_the_published_smic_hs_counts(tmp_path):
    rows = build_tree(tmp_path, REAL_APEX, frames="ends")
    index, problems = scan(tmp_path, apex_file=str(REAL_APEX))
    per_class = rows["label"].map(LABELS).value_counts().to_dict()
    print(f"\nreal apex list: {len(rows)} rows, {rows['subject'].nunique()} subjects, {per_class}; "
          f"loader: {len(index)} clips, {index['subject'].nunique()} subjects, {index['emotion'].value_counts().to_dict()}")
    assert problems == []
    assert len(index) == len(rows) == 164 and index["subject"].nunique() == rows["subject"].nunique() == 16  # datasets.md §3
    assert index["emotion"].value_counts().to_dict() == per_class == {"negative": 70, "positive": 51, "surprise": 43}
    apex = dict(zip("s" + rows["subject"].astype(str) + "/" + rows["clip"], rows["apex_frame"], strict=True))
    assert dict(zip(index["clip_id"], index["apex"], strict=True)) == apex


# --- the writer, and corrupted copies of what it writes ------------------------------------------

@pytest.fixture(scope="module")
def sim_hs(tmp_path_factory) -> Path:
    return write_smic(tmp_path_factory.mktemp("smic") / "quick", progress=False)


@pytest.fixture
def copy(sim_hs, tmp_path) -> Path:
    return Path(shutil.copytree(sim_hs, tmp_path / "copy"))


def frames_of(folder: str) -> list[int]:
    return sorted(int(p.stem.removeprefix("reg_image")) for p in Path(folder).glob("reg_image*.bmp"))


def test_writer_output_scans_back_to_what_it_wrote(sim_hs):
    index, problems = scan(sim_hs)
    assert problems == []
    sheet = pd.read_excel(sim_hs / "smic_apex.xlsx")
    assert list(sheet.columns[:7]) == ["data", "subject", "clip", "label", "onset_frame", "apex_frame", "offset_frame"]
    assert sheet["offset_frame"].isna().tolist() == [False] * (len(sheet) - 1) + [True]  # the trailing no-offset row, as in the real list
    assert (len(index), index["subject"].nunique()) == (12, 3)
    assert index["emotion"].value_counts().to_dict() == {"negative": 4, "positive": 4, "surprise": 4}
    written = sheet.assign(clip_id="s" + sheet["subject"].astype(str) + "/" + sheet["clip"]).set_index("clip_id")
    for r in index.itertuples():
        w = written.loc[r.clip_id]
        assert (r.onset, r.apex, r.emotion) == (w.onset_frame, w.apex_frame, LABELS[w.label])
        assert pd.isna(w.offset_frame) or r.offset == w.offset_frame
        assert frames_of(r.frames_dir) == list(range(r.onset, r.offset + 1))
        assert r.clip_id.split("/")[1].split("_")[1] == {"negative": "ne", "positive": "po", "surprise": "sur"}[r.emotion]
        assert r.aus == []  # SMIC codes no AUs: nothing for an AU check to find
    assert index.loc[index["subject"] == "s20", "onset"].min() >= 10_000_000  # s20's 8-digit numbering
    assert check_clip_files(index, SPEC.modalities, deep=True) == []


def test_nir_writer_is_gray_25_fps_without_an_apex_list(tmp_path):
    import cv2

    root = write_smic(tmp_path, camera="NIR", subjects=2, clips_per_subject=2, progress=False)
    assert not (root / "smic_apex.xlsx").exists()
    index, problems = scan(root, camera="NIR")
    assert (len(index), set(index["fps"]), set(index["subject"])) == (4, {25.0}, {"s11", "s14"})
    assert begin(problems, "no apex list ")
    assert (index["apex"] == (index["onset"] + index["offset"]) // 2).all()
    image = cv2.imread(str(sorted(Path(index["frames_dir"][0]).iterdir())[0]), cv2.IMREAD_UNCHANGED)
    assert image.ndim == 2
    with pytest.raises(DataError, match=r"SMIC_all_cropped/HS.*in " + str(root)):
        scan(root, camera="HS")


def test_writer_is_deterministic_by_seed(tmp_path):
    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    small = dict(subjects=2, clips_per_subject=1, progress=False)
    first, again, other = (files(write_smic(tmp_path / name, seed=seed, **small)) for name, seed in (("a", 0), ("b", 0), ("c", 1)))
    assert first == again and first != other


def test_missing_subject_folder_leaves_its_apex_rows_unused(copy):
    shutil.rmtree(copy / "SMIC_all_cropped" / "HS" / "s3")
    index, problems = scan(copy)
    assert "s3" not in set(index["subject"]) and len(index) == 8 and not fatal(problems)
    assert sorted(p.clip for p in problems if "no clip folder" in p.message) == ["s3_ne_01", "s3_po_01", "s3_po_02", "s3_sur_01"]


def test_apex_row_without_its_folder_is_named(copy):
    shutil.rmtree(copy / "SMIC_all_cropped" / "HS" / "s1" / "micro" / "positive" / "s1_po_01")
    index, problems = scan(copy)
    [problem] = problems
    assert (problem.severity, problem.where, problem.clip) == ("warning", "smic_apex.xlsx row 3", "s1_po_01")
    assert "s1/s1_po_01" not in set(index["clip_id"]) and len(index) == 11


def edit_apex_sheet(root: Path, clip: str, column: str, value) -> dict:
    book = openpyxl.load_workbook(root / "smic_apex.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("clip")].value == clip)
    before = {h: c.value for h, c in zip(header, row, strict=True)}
    row[header.index(column)].value = value
    book.save(root / "smic_apex.xlsx")
    return before


def test_empty_label_cell_keeps_the_folder_label(copy):
    edit_apex_sheet(copy, "s3_po_01", "label", None)
    index, problems = scan(copy)
    [problem] = problems
    assert problem.clip == "s3/s3_po_01" and "label empty is not 'positive'" in problem.message
    assert index.set_index("clip_id").loc["s3/s3_po_01", "emotion"] == "positive"


def test_apex_outside_the_clip_is_moved_to_the_middle(copy):
    row = edit_apex_sheet(copy, "s20_ne_01", "apex_frame", 5)
    index, problems = scan(copy)
    [problem] = problems
    clip = index.set_index("clip_id").loc["s20/s20_ne_01"]
    assert problem.severity == "warning" and "outside" in problem.message and str(row["onset_frame"]) in problem.message
    assert clip.apex == (clip.onset + clip.offset) // 2 != row["apex_frame"]


def test_empty_and_undecodable_frames_are_fatal_in_the_deep_check(copy):
    index, _ = scan(copy)
    files = sorted(Path(index["frames_dir"][0]).iterdir())
    files[1].write_bytes(b"")
    files[2].write_bytes(b"BM not really a bitmap")
    problems = check_clip_files(index, SPEC.modalities, deep=True)
    messages = {(Path(p.where).name, p.message) for p in problems}
    assert {m for name, m in messages if name == files[1].name} == {"empty file (0 bytes)"}
    assert {m for name, m in messages if name == files[2].name} == {"not a decodable image (truncated or not an image file)"}
    assert {p.severity for p in problems} == {"fatal"} and len(problems) == 2 * len(SPEC.modalities)


def test_second_apex_list_is_named_and_the_xlsx_used(copy):
    sheet = pd.read_excel(copy / "smic_apex.xlsx")
    sheet.assign(apex_frame=sheet["onset_frame"]).to_csv(copy / "smic_apex.csv", index=False)
    index, problems = scan(copy)
    [problem] = problems
    assert problem.where.endswith("smic_apex.csv") and "using" in problem.message and "smic_apex.xlsx" in problem.message
    assert sorted(index["apex"]) == sorted(sheet["apex_frame"])


def test_folder_spellings_other_than_the_release_are_warnings(copy):
    hs = copy / "SMIC_all_cropped" / "HS"
    (hs / "s1").rename(hs / "S01")
    (hs / "s3" / "micro").rename(hs / "s3" / "Micro")
    (hs / "s20" / "micro" / "negative").rename(hs / "s20" / "micro" / "Negative")
    index, problems = scan(copy)
    assert len(index) == 12 and set(index["subject"]) == {"s1", "s3", "s20"} and not fatal(problems)
    spelled = sorted((Path(p.where).name, p.message.split(" is spelled ")[1][:6]) for p in problems)
    assert spelled == [("Micro", "'micro"), ("Negative", "'negat"), ("S01", "'s1' i")]


def test_clip_in_the_wrong_emotion_folder_or_an_unknown_one_is_fatal(copy):
    micro = copy / "SMIC_all_cropped" / "HS" / "s1" / "micro"
    (micro / "negative" / "s1_ne_01").rename(micro / "positive" / "s1_ne_01")
    (micro / "happy").mkdir()
    (micro / "surprise" / "s1_sur_01").rename(micro / "happy" / "s1_sur_01")
    (micro / "negative" / "s1_ne_03").mkdir()
    index, problems = scan(copy)
    bad = {p.clip: p.message for p in fatal(problems)}
    assert set(bad) == {"s1/s1_ne_01", "s1/s1_sur_01", "s1/s1_ne_03"}
    assert "coded 'ne'" in bad["s1/s1_ne_01"] and "'happy'" in bad["s1/s1_sur_01"] and "holds no" in bad["s1/s1_ne_03"]
    assert len(index) == 10 and not set(bad) & set(index["clip_id"])


def test_two_folders_of_one_subject_are_fatal(copy):
    hs = copy / "SMIC_all_cropped" / "HS"
    shutil.copytree(hs / "s3", hs / "s03")
    index, problems = scan(copy)
    [problem] = fatal(problems)
    assert Path(problem.where).name == "s03" and "both subject 3" in problem.message
    assert len(index) == 12


def test_non_micro_clips_are_reported_or_indexed(copy):
    subject = copy / "SMIC_all_cropped" / "HS" / "s1"
    shutil.copytree(subject / "micro" / "negative" / "s1_ne_01", subject / "non_micro" / "s1_n1")
    index, problems = scan(copy)
    assert len(index) == 12 and begin(problems, "1 non_micro clip(s) not indexed")
    index, problems = scan(copy, non_micro=True)
    clip = index.set_index("clip_id").loc["s1/s1_n1"]
    assert problems == [] and clip.emotion == "non_micro" and clip.apex == (clip.onset + clip.offset) // 2
    assert SPEC.scheme("own").mapping["non_micro"] is None and SPEC.scheme("detection").mapping["non_micro"] == "non_micro"


def test_hs_apex_list_is_not_applied_to_another_camera(copy):
    (copy / "SMIC_all_cropped" / "HS").rename(copy / "SMIC_all_cropped" / "VIS")
    index, problems = scan(copy, camera="VIS")
    assert begin(problems, "smic_apex.xlsx lists SMIC-HS clips (100 fps", "no apex list (SMIC ships no apex")
    assert set(index["fps"]) == {25.0} and (index["apex"] == (index["onset"] + index["offset"]) // 2).all()
    index, problems = scan(copy, camera="vis", apex_file="smic_apex.xlsx")
    assert problems == [] and len(index) == 12


def test_options_and_roots(copy):
    for option, value in (("camera", "IR"), ("edition", "smic2"), ("frames", "aligned")):
        with pytest.raises(DataError, match=rf"unknown {option} '{value}'.*dataset.params.{option}"):
            scan(copy, **{option: value})
    with pytest.raises(DataError, match="found SMIC_all_cropped: set dataset.params.frames to cropped"):
        scan(copy, frames="raw")
    with pytest.raises(DataError, match="apex_file 'nope.xlsx' not found"):
        scan(copy, apex_file="nope.xlsx")
    index, problems = scan(copy / "SMIC_all_cropped" / "HS", apex_file=None)  # the camera folder as root
    assert len(index) == 12 and begin(problems, "no apex list ")
    with pytest.raises(DataError, match="is the HS camera folder but camera='NIR'"):
        scan(copy / "SMIC_all_cropped" / "HS", camera="NIR")


def test_schemes_cover_every_emotion_the_scan_can_produce():
    for name, scheme in SPEC.schemes.items():
        assert set(scheme.mapping) == {"negative", "positive", "surprise", "non_micro"}, name
    assert SPEC.scheme("megc2019").classes == ("negative", "positive", "surprise")
    assert {e: SPEC.scheme("megc2019").mapping[e] for e in ("negative", "positive", "surprise")} == {
        "negative": "negative", "positive": "positive", "surprise": "surprise"}


# --- SMIC-E ----------------------------------------------------------------------------------------

E_HEADER = ["Subject", "Filename", "OnsetF", "OffsetF", "Emotion", "FirstF", "LastF", "TotalVL", "TotalMF1", "Onset2F", "Offset2F",
            "TotalMF2", "Onset3F", "Offset3F", "TotalMF3"]
# (Subject, Filename, OnsetF, OffsetF, Emotion, FirstF, LastF, Onset2F, Offset2F); the folder holds FirstF..LastF.
E_ROWS = [
    (1, "s1_ne_01", 559740, 559775, "negative", 559700, 559800, 559785, 559795),   # two MEs
    (1, "s1_po_01", 701843, 701865, "positive", 701800, 701900, None, None),
    (3, "s3_sur_01", 308860, 308889, "surprise", 308800, 308900, None, None),      # no subject folder s03
    (1, "s1_sur_01", 549990, 550022, "surprise", 549950, 550050, None, None),      # no clip folder
    (1, "s1_po_02", 702609, 702638, None, 702600, 702700, None, None),             # empty Emotion
    (1, "s1_ne_03", 658536, 658562, "positive", 658500, 658600, None, None),       # Emotion disagrees with the code
    (1, "s1_ne_04", 660000, 660150, "negative", 659990, 660100, None, None),       # ME runs past the folder's frames
]


def write_smic_e(root: Path, rows=E_ROWS, name="SMIC-HS-E_annotation.xlsx", folder="SMIC-HS-E", notes=True) -> Path:
    long_dir = root / "SMIC-E_raw image" / "HS_long"
    long_dir.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(E_HEADER)
    for subject, filename, onset, offset, emotion, first, last, onset2, offset2 in rows:
        sheet.append([subject, filename, onset, offset, emotion, first, last, last - first + 1, offset - onset + 1, onset2, offset2,
                      None if onset2 is None else offset2 - onset2 + 1, None, None, None])
        clip = long_dir / folder / f"s{subject:02d}" / filename
        if subject == 1 and filename != "s1_sur_01":
            clip.mkdir(parents=True, exist_ok=True)
            for n in range(first, last + 1):
                (clip / f"image{n:06d}.jpg").touch()
    if notes:  # the sheet ends with text rows (datasets.md §3)
        sheet.append([])
        sheet.append(["Note: onset and offset are frame numbers of the long clip"])
    book.save(long_dir / name)
    return root


def test_smic_e_one_index_row_per_me_and_every_bad_row_named(tmp_path):
    index, problems = scan(write_smic_e(tmp_path), edition="smic-e")
    assert list(index["clip_id"]) == ["s01/s1_ne_01", "s01/s1_ne_01#2", "s01/s1_po_01"]
    assert list(index["subject"]) == ["1"] * 3 and set(index["fps"]) == {100.0}
    assert list(zip(index["onset"], index["offset"], strict=True)) == [(559740, 559775), (559785, 559795), (701843, 701865)]
    assert (index["apex"] == (index["onset"] + index["offset"]) // 2).all()
    assert list(index["source"]) == ["SMIC-HS-E_annotation.xlsx row 2", "SMIC-HS-E_annotation.xlsx row 2 ME 2", "SMIC-HS-E_annotation.xlsx row 3"]
    bad = {p.clip: (p.where, p.message) for p in fatal(problems)}
    assert set(bad) == {"s03/s3_sur_01", "s01/s1_sur_01", "s01/s1_po_02", "s01/s1_ne_03", "s01/s1_ne_04"}
    assert "subject folder s03 is missing" in bad["s03/s3_sur_01"][1] and "no clip folder s1_sur_01" in bad["s01/s1_sur_01"][1]
    assert "no emotion label" in bad["s01/s1_po_02"][1] and "disagrees with the Filename code 'ne'" in bad["s01/s1_ne_03"][1]
    assert "659990..660100" in bad["s01/s1_ne_04"][1] and bad["s01/s1_ne_04"][0] == "SMIC-HS-E_annotation.xlsx row 8"
    warnings = [p.message for p in problems if p.severity == "warning"]
    assert len(warnings) == 2 and warnings[0].startswith("1 row(s) hold no clip (rows 10: 'Note: onset")
    assert warnings[1].startswith("no apex for 3 ME(s)")


def test_smic_e_newest_sheet_spellings_and_apex_list(tmp_path):
    write_smic_e(tmp_path, rows=E_ROWS[:1], notes=False)
    write_smic_e(tmp_path, rows=E_ROWS[1:2], name="SMIC-HS-E_annotation_2019.xlsx", notes=False)
    long_dir = tmp_path / "SMIC-E_raw image" / "HS_long"
    (long_dir / "SMIC-HS-E").rename(long_dir / "SMIC_HS_E")
    pd.DataFrame({"data": ["smic"], "subject": [1], "clip": ["s1_po_01"], "label": [1], "onset_frame": [701843], "apex_frame": [701860],
                  "offset_frame": [701865]}).to_excel(tmp_path / "smic_apex.xlsx", index=False)
    index, problems = scan(tmp_path, edition="smic-e")
    assert list(index["clip_id"]) == ["s01/s1_po_01"] and list(index["apex"]) == [701860]
    assert begin(problems, "folder 'SMIC_HS_E' is spelled 'SMIC-HS-E'", "several SMIC-E annotation files: using SMIC-HS-E_annotation_2019.xlsx")
    index, _ = scan(long_dir / "SMIC_HS_E", edition="smic-e")  # the frame folder itself as root
    assert list(index["clip_id"]) == ["s01/s1_po_01"]
    with pytest.raises(DataError, match="no SMIC-E NIR layout"):
        scan(tmp_path, edition="smic-e", camera="NIR")
