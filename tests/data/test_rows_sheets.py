"""The shared row/sheet helpers every dataset spec parses its label file with."""

import numpy as np
import pandas as pd
import pytest

from mer4d.core.errors import DataError
from mer4d.data.rows import au_codes, emotion_label, frame_triplet
from mer4d.data.sheets import column, read_table
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality


def test_frame_triplet_repairs_apex_and_rejects_reversed_span():
    assert frame_triplet("10", "20", "30", "f", "c") == ((10, 20, 30), [])
    (on, apex, off), problems = frame_triplet("10", "/", "31", "f", "c")
    assert (on, apex, off) == (10, 20, 31) and problems[0].severity == "warning" and "'/'" in problems[0].message
    (_, apex, _), problems = frame_triplet(10, 99, 30, "f", "c")
    assert apex == 20 and "outside" in problems[0].message
    triplet, problems = frame_triplet(30, 20, 10, "f row 3", "c")
    assert triplet is None and problems[0].severity == "fatal" and problems[0].where == "f row 3"
    triplet, problems = frame_triplet("x", 2, 3, "f", "c")
    assert triplet is None and problems[0].severity == "fatal"


def test_au_codes_keeps_facs_and_reports_the_rest():
    codes, problems = au_codes("AU4+L10+AU99", "f", "c")
    assert codes == ["AU4", "L10"] and len(problems) == 1 and "AU99" in problems[0].message
    assert au_codes("4+12", "f", "c") == (["AU4", "AU12"], [])


def test_emotion_label_lowercases_and_rejects_empty_or_unknown():
    assert emotion_label(" Others ", ["others"], "f", "c") == ("others", [])
    for cell in ("", None, "joy"):
        label, problems = emotion_label(cell, ["others"], "f", "c")
        assert label is None and problems[0].severity == "fatal"


def test_read_table_finds_header_row_and_names_blank_columns(tmp_path):
    raw = pd.DataFrame([["title", None, None], ["Subject", None, "Onset"], ["1", "x", "5"], ["2", "y", "6"]])
    path = tmp_path / "t.xlsx"
    raw.to_excel(path, header=False, index=False)
    table = read_table(path, ["subject", "onset"])
    assert list(table["Subject"]) == ["1", "2"] and list(table["excel_row"]) == [3, 4]
    assert "blank_1" in table.columns and column(table, " ONSET") == "Onset"
    with pytest.raises(DataError, match="t.xlsx"):
        read_table(path, ["subject", "apex"])
    (tmp_path / "bad.xlsx").write_bytes(b"not a spreadsheet")
    with pytest.raises(DataError, match="bad.xlsx"):
        read_table(tmp_path / "bad.xlsx", ["subject"])


def test_spec_checks_its_defaults_and_scheme_targets():
    with pytest.raises(ValueError, match="not among its classes"):
        LabelScheme(("a",), {"x": "b"}, "src")
    scheme = LabelScheme.identity(("a", "b"), "src")
    with pytest.raises(ValueError, match="default scheme"):
        DatasetSpec("d", "t", lambda root: None, {"own": scheme}, "other", {"gray": Modality("frames_dir")})
    spec = DatasetSpec("d", "t", lambda root: None, {"own": scheme}, "own", {"gray": Modality("frames_dir")})
    with pytest.raises(DataError, match="unknown label scheme 'ow'.*did you mean"):
        spec.scheme("ow")
    with pytest.raises(DataError, match="no modality 'depth'"):
        spec.modality("depth")


def test_face_filmer_films_onset_to_offset_at_the_frame_rate():
    from mer4d.synth.writers.clips2d import FaceFilmer

    clip = FaceFilmer(seed=0, size=32).film(0, ("AU12",), 200.0, np.random.default_rng(0))
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[1:] == (32, 32)
    assert 0 < clip.apex < clip.length - 1 and clip.length <= 0.6 * 200 + 1
    assert clip.landmarks.shape[:2] == (clip.length, clip.landmarks.shape[1]) and clip.frames.std() > 5
