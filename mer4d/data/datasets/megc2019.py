"""The MEGC2019 composite (CASME II + SAMM + SMIC-HS, 3 classes), with the official ground truth as the source of truth.

Layout read (datasets.md §9)::

    ROOT/CASME2/...            a CASME II root (coding file + frame tree)    dataset.params.casme2
    ROOT/SAMM/...              a SAMM root                                    dataset.params.samm
    ROOT/SMIC/...              a SMIC root (HS camera)                        dataset.params.smic
    ROOT/combined_3class_gt.csv   optional: a ground truth of your own (else the official one, shipped)

Each source is read by its own spec; then every row of the ground-truth CSV (no header: database,
subject, clip, label with 0 negative, 1 positive, 2 surprise) is found among that source's clips.
The CSV spells subjects differently from the folders (SMIC ``s01``/``s01_ne_01`` is folder
``s1``/``s1_ne_01``; SAMM ``6`` is folder ``006``); that mapping is applied, not reported. What
is reported, row by row: a CSV clip missing from the folders (fatal), a clip found only with
other letter case (warning), and a label that disagrees with the source's own coding mapped by
the MEGC2019 rule (warning; the CSV label is used). Subjects are prefixed with their database
(``casme2/01``) so LOSO runs over the 68 composite subjects, and ``dataset`` holds the source, so
``leave_one_dataset_out`` and the per-database rows of the MEGC2019 table come from one Index.
"""

from __future__ import annotations

import io
import re
from importlib import resources
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem
from mer4d.data.spec import DATASETS, DatasetSpec, LabelScheme, Modality, register, require_root

NAME = "megc2019"
CLASSES = ("negative", "positive", "surprise")
GT_FILE = "combined_3class_gt.csv"
TITLES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC-HS"}
_UNPADDED = re.compile(r"^s0*(?=\d)")
SOURCE_OPTIONS = {"casme2": {}, "samm": {}, "smic": {"camera": "HS"}}


def official_ground_truth() -> str:
    """The official 442-row ``combined_3class_gt.csv`` shipped with mer4d (MEGC2019 repository)."""
    return resources.files("mer4d.data.datasets").joinpath("megc2019_gt.csv").read_text()


def read_ground_truth(text: str, where: str) -> pd.DataFrame:
    """The CSV as rows ``db, subject, clip, label (class name), csv_row``; blank ``,,,`` lines skipped."""
    raw = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=True)
    if raw.shape[1] != 4:
        raise DataError(f"{where}: expected 4 columns (database, subject, clip, label) and no header, found {raw.shape[1]}")
    rows, bad = [], []
    for i, (db, subject, clip, label) in enumerate(raw.itertuples(index=False), start=1):
        db, subject, clip, label = (str(v).strip() for v in (db, subject, clip, label))
        if not (db or subject or clip or label):
            continue
        if db.lower() not in TITLES or label not in ("0", "1", "2") or not subject or not clip:
            bad.append(f"row {i}: {db},{subject},{clip},{label}")
            continue
        rows.append({"db": db.lower(), "subject": subject, "clip": clip, "label": CLASSES[int(label)], "csv_row": i})
    if bad:
        raise DataError(f"{where}: {len(bad)} row(s) are not 'casme2|samm|smic,subject,clip,0|1|2': {bad[:5]}")
    return pd.DataFrame(rows)


def source_clip_id(db: str, subject: str, clip: str) -> str:
    """The source spec's ``clip_id`` of a CSV row (datasets.md §9 spelling rules)."""
    if db == "casme2":
        return f"{subject}/{clip}"
    if db == "smic":  # s01 / s01_ne_01 -> s1 / s1_ne_01
        return f"{_UNPADDED.sub('s', subject)}/{_UNPADDED.sub('s', clip)}"
    return f"{int(subject):03d}/{clip}" if subject.isdigit() else f"{subject}/{clip}"  # samm: 6 -> 006


def _source_root(root: Path, given: str | None, db: str) -> Path:
    candidates = [given] if given else [db.upper(), db, TITLES[db], TITLES[db].replace(" ", "")]
    for name in candidates:
        path = Path(name) if Path(name).is_absolute() else root / name
        if path.is_dir():
            return path
    raise DataError(f"{NAME}: no {TITLES[db]} folder under {root} (looked for {', '.join(candidates)}); "
                    f"set dataset.params.{db} to its folder (absolute, or relative to dataset.root)")


def scan(root: Path, *, casme2: str | None = None, samm: str | None = None, smic: str | None = None,
         ground_truth: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """The composite Index: one row per ground-truth row found in the sources, and every mismatch.

    Args:
        casme2, samm, smic: the source folders (absolute or relative to ``root``); default the
            subfolder named after the database.
        ground_truth: a CSV in the official format; default ``root/combined_3class_gt.csv`` when it
            exists (a warning counts how it differs from the official file), else the official file.
    """
    root = require_root(root, NAME)
    gt_text, gt_where, problems = _ground_truth(root, ground_truth)
    gt_note = problems[0].message.split(";")[0] if problems else ""  # "ground truth X: 18 rows, 18 of them as in the official ... (a subset)"
    truth = read_ground_truth(gt_text, gt_where)
    rows = []
    for db, given in (("casme2", casme2), ("samm", samm), ("smic", smic)):
        wanted = truth[truth["db"] == db]
        if wanted.empty:
            continue
        source = DATASETS.get(db)
        index, found = source.scan(_source_root(root, given, db), **SOURCE_OPTIONS[db])
        problems += [Problem(p.severity, p.where, f"{db}/{p.clip}" if p.clip else "", p.message) for p in found]
        rows += _match(wanted, index, source, gt_where, problems)
    if not rows:
        raise DataError(f"{NAME} at {root}: none of the {len(truth)} ground-truth clips was found in the sources")
    index = validate_index(pd.DataFrame(rows), source=f"{NAME} at {root}")
    index.attrs["composite"] = True  # predictions then carry the source database (per-database MEGC2019 rows)
    if gt_note:  # the run banner says it too, not only the problem list
        index.attrs["note"] = gt_note
    return index, problems


def _ground_truth(root: Path, given: str | None) -> tuple[str, str, list[Problem]]:
    path = Path(given) if given else root / GT_FILE
    if given and not path.is_absolute():
        path = root / path
    if not path.is_file():
        if given:
            raise DataError(f"{NAME}: dataset.params.ground_truth {path} is not a file")
        return official_ground_truth(), f"{GT_FILE} (official, shipped)", []
    text = path.read_text()
    official = read_ground_truth(official_ground_truth(), "official")
    mine = read_ground_truth(text, str(path))
    key = ["db", "subject", "clip", "label"]
    shared = mine.merge(official, on=key, how="inner")
    if len(shared) == len(mine) == len(official):
        return text, str(path), []
    note = (f"ground truth {path.name}: {len(mine)} rows, {len(shared)} of them as in the official {len(official)}-row file"
            f"{' (a subset)' if len(shared) == len(mine) else ''}; results are not comparable with the MEGC2019 table unless all 442 are used")
    return text, str(path), [Problem("warning", str(path), "", note)]


def _match(wanted: pd.DataFrame, index: pd.DataFrame, source: DatasetSpec, gt_where: str, problems: list[Problem]) -> list[dict]:
    by_id = {c: i for i, c in enumerate(index["clip_id"])}
    by_lower = {c.lower(): c for c in index["clip_id"]}
    mapping = source.scheme("megc2019").mapping
    out = []
    for row in wanted.itertuples(index=False):
        where = f"{Path(gt_where).name} row {row.csv_row}"
        expected = source_clip_id(row.db, row.subject, row.clip)
        clip = expected if expected in by_id else by_lower.get(expected.lower())
        shown = f"{row.db}/{expected}"
        if clip is None:
            problems.append(Problem("fatal", where, shown, f"{TITLES[row.db]} has no clip {expected} (CSV: {row.subject},{row.clip}); "
                                    "its label row or folder is missing in your copy (see the problems of that source above)"))
            continue
        if clip != expected:
            problems.append(Problem("warning", where, shown, f"found as {clip} (letter case differs from {expected})"))
        source_row = index.iloc[by_id[clip]]
        theirs = mapping.get(source_row["emotion"])
        if theirs != row.label:
            problems.append(Problem("warning", where, shown, f"label disagrees: the CSV says {row.label}, the {TITLES[row.db]} coding says "
                                    f"{source_row['emotion']!r} (-> {theirs or 'omitted'} by the MEGC2019 rule); the CSV label is used"))
        out.append({**source_row.to_dict(), "dataset": row.db, "subject": f"{row.db}/{source_row['subject']}", "clip_id": shown,
                    "emotion": row.label, "source_emotion": source_row["emotion"], "source": where, "fold": None})
    return out


SPEC = register(DatasetSpec(
    name=NAME,
    title="MEGC2019 composite (CASME II + SAMM + SMIC-HS, negative/positive/surprise), the official ground-truth CSV as truth",
    scan=scan,
    schemes={"own": LabelScheme.identity(CLASSES, "MEGC2019 guideline: negative = repression, anger, contempt, disgust, fear, sadness; "
                                         "positive = happiness; surprise = surprise; others omitted")},
    default_scheme="own",
    modalities={"gray": Modality("frames_dir"), "rgb": Modality("frames_dir", color="rgb")},
    writer=NAME,
    folds="none: composite-database evaluation is LOSO over every composite subject; leave_one_dataset_out uses the dataset column",
))
