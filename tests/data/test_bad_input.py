"""Bad input as a new user meets it, over corrupted copies of a simulated 4DME dataset.

Each case breaks one thing in a fresh copy and asserts that ``mer4d data check`` (``check_dataset``)
and ``mer4d run``'s loader (``open_dataset``) name the file, the clip and the reason, never a bare
traceback and never silently dropped data. The per-dataset catalogues of the 2D datasets live in
``tests/data/datasets/``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import cv2
import numpy as np
import openpyxl
import pytest

from mer4d.core.errors import DataError
from mer4d.data.datasets.fourdme import SPEC
from mer4d.data.filecheck import check_dataset
from mer4d.data.readers.frames import list_frames
from mer4d.pipeline import open_dataset
from mer4d.synth.writers.fourdme import write_fourdme

SHEET = "4DME_Labelling_Micro_release v1.xlsx"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_fourdme(tmp_path_factory.mktemp("clean4d"), subjects=2, micro_per_subject=1, seed=3, progress=False)


@pytest.fixture
def copy(clean, tmp_path):
    return shutil.copytree(clean, tmp_path / "copy")


def first_clip(root, modality="gray_micro"):
    return sorted((root / modality).glob("*/*"))[0]


def edit_sheet(root, row: int, **cells) -> None:
    """Set cells of label row ``row`` (1 = the first clip) by header name."""
    book = openpyxl.load_workbook(root / SHEET)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for name, value in cells.items():
        sheet.cell(row=row + 1, column=header.index(name) + 1).value = value  # cell(value=None) would not clear it
    book.save(root / SHEET)


def problems_of(root, deep=True):
    _, problems = check_dataset(SPEC, root, {}, deep=deep)
    return problems


def only(problems, severity, text):
    hits = [p for p in problems if p.severity == severity and text in p.message]
    assert hits, f"no {severity} problem with {text!r} in {[(p.severity, p.message) for p in problems]}"
    return hits[0]


def test_the_clean_copy_has_no_problem(clean):
    # the quick simulator films macro clips in gray only: one summary line per other modality
    assert sorted(p.message.split(" (e.g.")[0] for p in problems_of(clean)) == [f"2 of 4 clip(s) have no {m} folder" for m in ("depth", "mesh", "rgb")]


def test_a_zero_byte_frame_is_named_by_check_and_run(copy):
    path = list_frames(first_clip(copy))[3][1]
    path.write_bytes(b"")
    problem = only(problems_of(copy, deep=False), "fatal", "empty file (0 bytes)")
    assert problem.where == str(path)
    with pytest.raises(DataError, match="empty file"):
        open_dataset("4dme", copy, progress=False)


def test_an_undecodable_frame_is_found_by_the_deep_check(copy):
    path = list_frames(first_clip(copy))[2][1]
    path.write_bytes(b"\xff\xd8 this is not a jpeg")
    assert only(problems_of(copy), "fatal", "not a decodable image").where == str(path)


def test_a_depth_image_of_the_wrong_bit_depth(copy):
    path = list_frames(first_clip(copy, "kinect_depth_micro"))[1][1]
    cv2.imwrite(str(path), np.full((8, 8), 100, np.uint8))
    problem = only(problems_of(copy), "fatal", "depth image is uint8")
    assert problem.where == str(path) and "16-bit" in problem.message


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_broken_mesh_names_the_file(copy, damage):
    path = sorted(first_clip(copy, "mesh_micro").glob("*.ply"))[1]
    data = path.read_bytes()
    path.write_bytes(b"this is no mesh at all\n" * 4 if damage == "garbage" else data[: len(data) // 3])
    assert only(problems_of(copy), "fatal", "").where == str(path)


def test_a_mesh_with_nan_vertices_names_the_file_and_the_vertices(copy):
    import trimesh

    path = sorted(first_clip(copy, "mesh_micro").glob("*.ply"))[0]
    mesh = trimesh.load(path, process=False)
    vertices = np.array(mesh.vertices)
    vertices[[7, 11]] = np.nan
    mesh.vertices = vertices
    mesh.export(path)
    problem = only(problems_of(copy), "fatal", "NaN")
    assert problem.where == str(path) and "2 vertex(es)" in problem.message and "[7, 11]" in problem.message


def test_a_missing_subject_folder_is_a_named_problem_not_a_traceback(copy):
    clip = first_clip(copy)
    shutil.rmtree(clip.parent)
    problem = only(problems_of(copy), "fatal", "no gray folder")
    assert problem.clip.startswith(clip.parent.name + "/")
    with pytest.raises(DataError, match=f"{clip.parent.name}/.*no gray folder"):
        open_dataset("4dme", copy, progress=False)
    out = subprocess.run([sys.executable, "-m", "mer4d", "data", "check", "--dataset", "4dme", "--root", str(copy)], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "no gray folder" in out.stdout


def test_a_label_row_with_no_files_and_the_skip_policy(copy):
    edit_sheet(copy, 1, fold_name="S01_does_not_exist")
    problem = only(problems_of(copy), "fatal", "no gray folder")
    assert problem.clip == "S01/S01_does_not_exist"
    with pytest.raises(DataError, match="S01/S01_does_not_exist"):
        open_dataset("4dme", copy, progress=False)


def test_not_facs_au_tokens_are_problems_not_labels(copy):
    edit_sheet(copy, 1, AUs="AU4+AU99")
    problem = only(problems_of(copy), "warning", "not FACS")
    assert "AU99" in problem.message and "row 2" in problem.where
    corpus = open_dataset("4dme", copy, progress=False)
    assert all("AU99" not in aus for aus in corpus.index["aus"]) and ["AU4"] in list(corpus.index["aus"])


def test_a_row_without_emotion_is_a_problem_never_a_default(copy):
    edit_sheet(copy, 2, Emotion=None)
    problem = only(problems_of(copy), "fatal", "")
    assert "row 3" in problem.where and "emotion" in problem.message.lower()


def test_an_apex_outside_the_clip_is_fixed_the_same_way_in_check_and_run(copy, caplog):
    edit_sheet(copy, 1, Apex=1)
    warning = only(problems_of(copy), "warning", "apex")
    with caplog.at_level(logging.WARNING):
        corpus = open_dataset("4dme", copy, progress=False)
    row = corpus.index.iloc[0]
    assert row["apex"] == (row["onset"] + row["offset"]) // 2 and str(row["apex"]) in warning.message
    assert warning.message in caplog.text  # run logs the very message check lists


def test_a_one_subject_dataset_says_so(copy):
    shutil.rmtree(first_clip(copy).parent)
    book = openpyxl.load_workbook(copy / SHEET)
    book.active.delete_rows(2)  # S01's only clip
    book.save(copy / SHEET)
    (copy / SHEET.replace("Micro", "Macro")).unlink()
    with pytest.raises(DataError, match="one subject"):
        open_dataset("4dme", copy, progress=False)  # said before any fold is built
    out = subprocess.run([sys.executable, "-m", "mer4d", "data", "check", "--dataset", "4dme", "--root", str(copy), "--quick"], capture_output=True, text=True)
    assert "1 subject(s) (a subject-independent protocol needs at least 2)" in out.stdout


def test_recipes_show_rejects_unknown_names_as_run_does():
    for setting, expected in [("model.name=res3dd", "unknown model 'res3dd'; did you mean 'res3d'"), ("dataset.name=casme9", "unknown dataset 'casme9'"),
                              ("dataset.labels=fve", "unknown label scheme 'fve'"), ("dataset.modality=mash", "no modality 'mash'")]:
        out = subprocess.run([sys.executable, "-m", "mer4d", "recipes", "show", "recipes/4dme_res3d.yaml", "--set", setting], capture_output=True, text=True)
        assert out.returncode != 0 and expected in out.stderr and "Traceback" not in out.stderr, (setting, out.stderr)
