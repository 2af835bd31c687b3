"""The CAS(ME)^3 Part A writer's macro-expressions: the MaE sheet, the frames, the MEs left byte-identical,
and the clips through the pipeline and the data CLI."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

import mer4d.data.datasets  # noqa: F401  (registers the specs)
from mer4d.cli import cli
from mer4d.data.datasets import casme3
from mer4d.data.filecheck import check_clip_files
from mer4d.data.spec import DATASETS
from mer4d.pipeline import open_dataset
from mer4d.synth.animation import raised_cosine_profile
from mer4d.synth.events import AMPLITUDE_MM
from mer4d.synth.writers import WRITERS
from mer4d.synth.writers import casme3 as writer

MAE = "annotation/partA/cas(me)3_part_A_MaE_label_JpgIndex_v2_emotion.xlsx"
ME = "annotation/partA/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
TREE_A = "part_A/data/part_A_split/part_A"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    start = time.perf_counter()
    root = WRITERS["casme3"](tmp_path_factory.mktemp("casme3_macro"), part="A", progress=False)
    print(f"\nquick CAS(ME)^3 Part A with macro clips written in {time.perf_counter() - start:.1f} s")
    return root


def mae_rows(root: Path) -> tuple[openpyxl.worksheet.worksheet.Worksheet, list[dict]]:
    ws = openpyxl.load_workbook(root / MAE).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return ws, [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_mae_sheet_has_the_columns_counts_and_frames(sim):
    ws, rows = mae_rows(sim)
    assert ws.title == "Sheet1" and [c.value for c in ws[1]] == ["sub", "seq", "onset", "apex", "offset", "emotion"]
    assert len(rows) == 6 and {r["sub"]: sum(x["sub"] == r["sub"] for x in rows) for r in rows} == {"spNO.1": 2, "spNO.2": 2, "spNO.5": 2}
    assert all(isinstance(r[k], int) for r in rows for k in ("onset", "apex", "offset"))  # number cells
    assert {r["emotion"] for r in rows} <= set(casme3.EMOTIONS["A"]) and all(r["seq"] in writer.VIDEOS for r in rows)
    me = {(r[0], r[1]) for r in list(openpyxl.load_workbook(sim / ME).worksheets[0].iter_rows(values_only=True))[1:]}
    for r in rows:
        assert r["onset"] < r["apex"] < r["offset"] and (r["offset"] - r["onset"] + 1) / 30.0 <= 4.0
        video = sim / TREE_A / r["sub"] / r["seq"]
        span = set(range(r["onset"], r["offset"] + 1))
        assert span <= {int(p.stem) for p in (video / "color").glob("*.jpg")} and span <= {int(p.stem) for p in (video / "depth").glob("*.png")}
    assert {r["sub"] for r in rows if (r["sub"], r["seq"]) in me} == {"spNO.1", "spNO.2", "spNO.5"}  # macro clips share the MEs' videos


def test_micro_part_is_byte_identical_to_a_writer_without_macro_clips(sim, tmp_path):
    bare = WRITERS["casme3"](tmp_path / "bare", part="A", progress=False, macro_per_subject=0)
    assert not (bare / MAE).exists()
    files = [p for p in bare.rglob("*") if p.is_file()]
    assert len(files) > 100 and all((sim / p.relative_to(bare)).read_bytes() == p.read_bytes() for p in files)
    index, problems = casme3.scan(sim)
    assert problems == []
    micro, _ = casme3.scan(bare)
    assert index[index["kind"] == "micro"]["clip_id"].tolist() == micro["clip_id"].tolist()
    macro = index[index["kind"] == "macro"]
    assert len(macro) == 6 and macro["clip_id"].str.endswith("_macro").all() and macro["aus"].map(len).eq(0).all()
    assert check_clip_files(index, DATASETS.get("casme3").modalities, deep=True) == []


def test_macro_clips_are_larger_and_move_at_the_pseudo_apex(sim):
    index, _ = casme3.scan(sim)

    def blurred(r, n):
        return cv2.GaussianBlur(cv2.imread(f"{r.frames_dir}/{n}.jpg").astype(float), (0, 0), 2)

    def change(kind, step):
        return np.mean([np.abs(blurred(r, r.onset + step) - blurred(r, r.onset)).max() for r in index[index["kind"] == kind].itertuples()])

    assert change("macro", 4) > 1.3 * change("macro", 1)  # onset + 4 (MoExt's pseudo-apex) moves beyond the frame-to-frame noise
    macro, micro = index[index["kind"] == "macro"], index[index["kind"] == "micro"]
    assert (macro["offset"] - macro["onset"]).mean() > 3 * (micro["offset"] - micro["onset"]).mean()
    for rise in range(2, 80):  # the written onset is the first frame at 10% of the apex; onset + 4 is further up the rise
        k = writer.visible_onset(rise)
        p = raised_cosine_profile(0, rise, rise + 1, rise + 2)
        assert 0 <= k < rise and p[k] >= writer.VISIBLE_ONSET - 1e-9 and (k == 0 or p[k - 1] < writer.VISIBLE_ONSET)
        assert p[min(k + 4, rise)] > p[k] or k + 4 >= rise
    assert 3.0 <= np.mean(AMPLITUDE_MM["macro"]) / np.mean(AMPLITUDE_MM["micro"]) <= 4.0  # the filmer's kind="macro" amplitude


def test_macro_clips_load_through_the_pipeline(sim):
    corpus = open_dataset("casme3", sim, kind="all", strategy="onset_apex", frames=2, size=32, progress=False)
    assert len(corpus.index) == 18 and corpus.index["kind"].value_counts().to_dict() == {"micro": 12, "macro": 6}
    position = int(np.flatnonzero(corpus.index["kind"] == "macro")[0])
    assert corpus.load_clip(position).shape == (3, 2, 32, 32)
    macro = open_dataset("casme3", sim, kind="macro", labels="seven", strategy="onset_apex", frames=2, size=32, progress=False)
    assert len(macro.index) == 6 and macro.index["subject"].nunique() == 3


def test_a_missing_macro_frame_is_named(sim, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sim, copy)
    index, _ = casme3.scan(copy)
    clip = index[index["kind"] == "macro"].iloc[0]
    (Path(clip["frames_dir"]) / f"{clip['apex']}.jpg").unlink()
    problems = check_clip_files(index, {"rgb": DATASETS.get("casme3").modality("rgb")})
    assert [(p.severity, p.clip) for p in problems] == [("fatal", clip["clip_id"])] and str(clip["apex"]) in p_text(problems)


def p_text(problems) -> str:
    return " ".join(f"{p.where} {p.message}" for p in problems)


def test_data_cli_writes_and_counts_macro_clips(sim, tmp_path):
    result = CliRunner().invoke(cli, ["data", "check", "--dataset", "casme3", "--root", str(sim), "--quick"])
    assert result.exit_code == 0, result.output
    assert "18 clips indexed (macro 6, micro 12), 3 subject(s)" in result.output
    out = tmp_path / "small"
    result = CliRunner().invoke(cli, ["data", "synth", "--kind", "casme3", "--out", str(out), "--subjects", "2",
                                      "--param", "clips_per_subject=1", "--param", "macro_per_subject=1"])
    assert result.exit_code == 0, result.output
    _, rows = mae_rows(out)
    assert [r["sub"] for r in rows] == ["spNO.1", "spNO.2"]


def test_published_plan_has_the_release_count():
    spec = writer.SIZES["A"]["published"]
    assert sum(spec.macro) == writer.PUBLISHED_MACRO == 3346 and len(spec.macro) == len(spec.subjects) == 94
    assert max(spec.macro) - min(spec.macro) <= 1
    micro = writer._plan("A", spec, 0, "published")
    jobs = writer._plan_macro(spec, 0, micro)
    assert len(jobs) == 3346 and set(j.emotion for j in jobs) == set(casme3.EMOTIONS["A"])
    spans = {}
    for j in micro:
        spans.setdefault((j.s, j.video), []).append((j.onset, j.onset + 40))
    for j in jobs:  # every macro window lies after the MEs of its video and after the previous macro window
        spans.setdefault((j.s, j.video), []).append((j.onset, j.onset + writer.MACRO_WINDOW))
    for windows in spans.values():
        windows.sort()
        assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:], strict=False))
