"""AU frequency tables of the real CASME II, SAMM and DFME annotation files (skipped without ../shared).

The tables are printed (``pytest -s``) and checked against an independent count of the raw sheet
text (CASME II, DFME) and, for DFME, against the paper's Table IV: the three most frequent AUs of
each emotion in the release sheets are the three the paper lists first (its Table IV counts all MEs
of the first 300 participants, the release holds 2,629 clips of 259 subjects, so shares differ).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import mer4d.data.datasets  # noqa: F401  (registers the specs)
from mer4d.analysis.label_stats import au_share_table, frequent_aus
from mer4d.analysis.rule_consistency import SAME, rule_consistency
from mer4d.data.datasets.dfme import ANNOTATION_FOLDER, SHEETS
from mer4d.data.spec import DATASETS
from mer4d.synth.writers.samm import HEADER_ROW

REPO = Path(__file__).resolve().parents[2]
REAL = next((p for p in (REPO.parent / "shared" / "reference" / "annotations", Path("/work/shared/reference/annotations"))
             if (p / "dfme" / SHEETS["train"][0]).is_file()), None)
pytestmark = pytest.mark.skipif(REAL is None, reason="the real annotation files are not available (../shared/reference/annotations)")
CASME2_FILE, SAMM_FILE = "CASME2-coding-20190701.xlsx", "SAMM_Micro_FACS_Codes_v2.xlsx"
# DFME Table IV, the first three AUs of each emotion as printed (L/R-AU12 written merged as AU12).
TABLE_IV_TOP3 = {"anger": ("AU4", "AU7", "AU24"), "contempt": ("AU12", "AU6", "AU10"), "disgust": ("AU4", "AU7", "AU10"),
                 "fear": ("AU4", "AU7", "AU5"), "happiness": ("AU12", "AU6", "AU24"), "sadness": ("AU4", "AU14", "AU24"),
                 "surprise": ("AU1", "AU5", "AU2")}


def casme2_root(tmp: Path) -> Path:
    """The coding file and an empty clip folder per row (the scan lists folders, it reads no frame)."""
    root = tmp / "casme2"
    (root / "Cropped").mkdir(parents=True)
    shutil.copy(REAL / "casme2" / CASME2_FILE, root)
    sheet = pd.read_excel(root / CASME2_FILE, dtype=str)
    for subject, name in zip(sheet["Subject"], sheet["Filename"], strict=True):
        (root / "Cropped" / f"sub{subject}" / name).mkdir(parents=True, exist_ok=True)
    return root


def samm_root(tmp: Path) -> Path:
    root = tmp / "samm"
    root.mkdir()
    shutil.copy(REAL / "samm" / SAMM_FILE, root)
    sheet = pd.read_excel(root / SAMM_FILE, header=HEADER_ROW - 1, dtype=str)
    for subject, name in zip(sheet["Subject"], sheet["Filename"], strict=True):
        (root / "SAMM" / subject / name).mkdir(parents=True, exist_ok=True)
    return root


def dfme_root(tmp: Path) -> Path:
    root = tmp / "dfme"
    (root / ANNOTATION_FOLDER).mkdir(parents=True)
    for name, frames in SHEETS.values():
        shutil.copy(REAL / "dfme" / name, root / ANNOTATION_FOLDER / name)
        for clip in pd.read_excel(root / ANNOTATION_FOLDER / name, dtype=str)["Filename"]:
            (root / frames / frames / clip).mkdir(parents=True, exist_ok=True)
    return root


def raw_numbers(cell: object) -> set[int]:
    """AU numbers of a raw AU cell, sides and prefixes dropped, action descriptors (AD, M) left out: an
    independent reading of the text (no mer4d parser)."""
    if cell is None or (isinstance(cell, float) and cell != cell) or str(cell).strip().lower() in ("", "nan"):
        return set()
    out = set()
    for token in re.split(r"[+,]", str(cell)):
        token = token.strip().upper()
        if re.fullmatch(r"(AU)?[LRAB]?\d+(\.0)?", token):
            out.add(int(re.search(r"\d+", token).group()))
    return out


def printed(name: str, table: pd.DataFrame, top: int = 8) -> None:
    print(f"\n{name}: share of each emotion's clips in which the AU occurs (sides merged; top {top})")
    for emotion in table.index:
        print(f"  {emotion:11s} n={int(table.loc[emotion, 'n_clips']):4d}  " + ", ".join(f"{c} {100 * v:.1f}%" for c, v in frequent_aus(table, emotion, top=top)))


def check_against_raw(table: pd.DataFrame, emotions: pd.Series, cells: pd.Series) -> None:
    numbers = [raw_numbers(c) for c in cells]
    for emotion in table.index.drop("all"):
        rows = [n for n, e in zip(numbers, emotions, strict=True) if e == emotion]
        assert table.loc[emotion, "n_clips"] == len(rows)
        for code in table.columns.drop("n_clips"):
            if code.startswith("AU"):
                assert table.loc[emotion, code] == pytest.approx(sum(int(code[2:]) in n for n in rows) / len(rows)), (emotion, code)


def test_casme2(tmp_path, capsys):
    index, _ = DATASETS.get("casme2").run_scan(casme2_root(tmp_path))
    table = au_share_table(index, "merged")
    sheet = pd.read_excel(REAL / "casme2" / CASME2_FILE, dtype=str)
    check_against_raw(table, sheet["Estimated Emotion"].str.strip().str.lower(), sheet["Action Units"])
    consistency = rule_consistency(index, multilabel=False)
    with capsys.disabled():
        printed("CASME II (coding 2019-07-01, 255 clips)", table)
        print(f"  4DME rules give the same label to {(consistency.clips['verdict'] == SAME).mean():.1%} of the clips")


def test_samm(tmp_path, capsys):
    index, _ = DATASETS.get("samm").run_scan(samm_root(tmp_path))
    table = au_share_table(index, "merged")
    sheet = pd.read_excel(REAL / "samm" / SAMM_FILE, header=HEADER_ROW - 1, dtype=str)
    assert table.drop(index="all")["n_clips"].to_dict() == sheet["Estimated Emotion"].str.strip().str.lower().value_counts().to_dict()
    assert table.loc["happiness", "AU12"] == 1.0  # every SAMM happiness clip is coded with AU12 on some side
    with capsys.disabled():
        printed("SAMM (v2, 159 clips)", table)


def test_dfme_next_to_table_iv(tmp_path, capsys):
    index, problems = DATASETS.get("dfme").run_scan(dfme_root(tmp_path))
    assert problems == []
    merged, lr = au_share_table(index, "merged"), au_share_table(index, "lr")
    sheets = pd.concat([pd.read_excel(REAL / "dfme" / name, dtype=str) for name, _ in SHEETS.values()], ignore_index=True)
    check_against_raw(merged, sheets["Emotion"].str.strip().str.lower(), sheets["AU"])
    for emotion, paper in TABLE_IV_TOP3.items():
        ours = [c for c, _ in frequent_aus(merged, emotion, top=3)]
        assert set(ours) == set(paper), (emotion, ours, paper)
    with capsys.disabled():
        printed("DFME (release sheets train + testA + testB, 2629 clips)", merged)
        print("\nDFME, sides kept as in Table IV (AUn: bilateral only; L/R-AUn: one side)")
        for emotion in lr.index:
            print(f"  {emotion:11s} " + ", ".join(f"{c} {100 * v:.1f}%" for c, v in frequent_aus(lr, emotion, top=8)))
