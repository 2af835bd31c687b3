"""Write a simulated MEGC2019 composite laid out after the official ground truth (read back by ``mer4d.data.datasets.megc2019``).

Layout (datasets.md §9)::

    <out>/CASME2/...                  a CASME II root (write_casme2) holding the CSV's CASME II clips
    <out>/SAMM/...                    a SAMM root (write_samm) holding its SAMM clips
    <out>/SMIC/...                    a SMIC root, HS camera (write_smic) holding its SMIC clips
    <out>/combined_3class_gt.csv      quick size only: the rows of the subset, in the official format

The clips are the rows of the shipped ``combined_3class_gt.csv``, written in each source's own
spelling (CSV ``sub01`` is CASME II Subject ``01``; SAMM ``6`` is ``006``; SMIC ``s01``/``s01_ne_01``
is folder ``s1``/``s1_ne_01``), and each clip's emotion is one the source codes so that the
MEGC2019 rule maps it back to the CSV class: negative is CASME II disgust or repression and SAMM
Anger, Contempt, Disgust, Fear or Sadness (dealt in the proportions of the real files, datasets.md
§9: CASME II 61 + 27 = 88, SAMM 57 + 12 + 9 + 8 + 6 = 92), positive is happiness, surprise is
surprise; SMIC's emotion folder is the class itself.

Sizes: ``published`` writes all 442 rows (the sources' published frame sizes; slow), ``quick`` a
subject-stratified subset (2 subjects per database, at most 3 clips each, chosen to cover the
three classes, deterministic) with the sources' quick frame sizes, and writes that subset as
``combined_3class_gt.csv`` so the scan uses it and warns that it is a subset of the official file.
"""

from __future__ import annotations

from importlib import resources
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets.megc2019 import CLASSES, GT_FILE, official_ground_truth, read_ground_truth
from mer4d.synth.writers.casme2 import write_casme2
from mer4d.synth.writers.samm import write_samm
from mer4d.synth.writers.smic import write_smic

SIZES = ("quick", "published")
FOLDERS = {"casme2": "CASME2", "samm": "SAMM", "smic": "SMIC"}
# Source emotions of a negative CSV row, with their counts in the real files (datasets.md §9).
NEGATIVE = {"casme2": {"disgust": 61, "repression": 27}, "samm": {"Anger": 57, "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6}}
OTHER_CLASSES = {"casme2": {"positive": "happiness", "surprise": "surprise"}, "samm": {"positive": "Happiness", "surprise": "Surprise"}}
QUICK_SUBJECTS, QUICK_CLIPS = 2, 3


def _official_bytes() -> bytes:
    return resources.files("mer4d.data.datasets").joinpath("megc2019_gt.csv").read_bytes()


def write_megc2019(out: Path, *, size: str = "quick", seed: int = 0, progress: bool = True, size_px: int | None = None) -> Path:
    """Write the simulated composite into ``out`` (created if needed) and return ``out``.

    Args:
        out: the composite root (gets ``CASME2/``, ``SAMM/``, ``SMIC/`` and, for ``quick``, the subset CSV).
        size: ``quick`` (18 clips of 6 subjects, the subset CSV written) or ``published`` (all 442 rows).
        seed: the same seed writes the same bytes.
        size_px: frame side for all three sources (default: each writer's own for ``size``).
    """
    if size not in SIZES:
        raise DataError(f"unknown simulator size {size!r}; expected one of {list(SIZES)}")
    text = official_ground_truth()
    truth = read_ground_truth(text, f"{GT_FILE} (official, shipped)")
    rows = truth if size == "published" else quick_subset(truth)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2019])
    frames = {} if size_px is None else {"size_px": int(size_px)}
    writers = {"casme2": write_casme2, "samm": write_samm, "smic": write_smic}
    for db, writer in writers.items():
        wanted = rows[rows["db"] == db]
        clips = source_clips(db, wanted, rng)
        writer(out / FOLDERS[db], size=size, seed=seed, progress=progress, clips=clips, **frames)
    if size == "quick":
        # the official file's own bytes (CRLF line ends); csv_row counts the rows pandas reads (blank lines skipped)
        lines = [line for line in _official_bytes().splitlines(keepends=True) if line.strip()]
        (out / GT_FILE).write_bytes(b"".join(lines[r - 1] for r in rows["csv_row"]))
    return out


def quick_subset(truth: pd.DataFrame) -> pd.DataFrame:
    """A subject-stratified subset of the ground truth: per database the pair of subjects whose clips
    (at most :data:`QUICK_CLIPS` each, one of every class they have first) cover the most classes,
    then the most clips, earliest subjects on ties; rows keep the official order."""
    chosen: list[int] = []
    for db in FOLDERS:
        part = truth[truth["db"] == db]
        picks = {subject: _subject_pick(group) for subject, group in part.groupby("subject", sort=False)}
        order = list(picks)
        best = max(combinations(order, QUICK_SUBJECTS),
                   key=lambda pair: (len({part.loc[i, "label"] for s in pair for i in picks[s]}), sum(len(picks[s]) for s in pair),
                                     [-order.index(s) for s in pair]))
        chosen += [i for s in best for i in picks[s]]
    subset = truth.loc[sorted(chosen)].reset_index(drop=True)
    missing = set(CLASSES) - set(subset["label"])
    if missing:  # the official file has every class in every database; a changed file may not
        raise DataError(f"the quick MEGC2019 subset lacks class(es) {sorted(missing)}; use size='published'")
    return subset


def _subject_pick(group: pd.DataFrame) -> list[int]:
    """Row labels of up to QUICK_CLIPS clips of one subject: the first clip of each class, then the next ones in CSV order."""
    first = list(group.drop_duplicates("label").index)
    rest = [i for i in group.index if i not in first]
    return sorted((first + rest)[:QUICK_CLIPS])


def source_clips(db: str, rows: pd.DataFrame, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """``(subject, clip, emotion)`` of each ground-truth row in the source's own spelling (datasets.md §9)."""
    emotions = _emotions(db, list(rows["label"]), rng)
    clips = []
    for (subject, clip), emotion in zip(rows[["subject", "clip"]].itertuples(index=False), emotions, strict=True):
        if db == "casme2":  # CSV sub01 -> coding-file Subject 01 (folder sub01)
            clips.append((subject.removeprefix("sub"), clip, emotion))
        elif db == "samm":  # CSV 6 -> Subject / folder 006
            clips.append((f"{int(subject):03d}", clip, emotion))
        else:  # CSV s01 / s01_ne_01 -> folders s1 / s1_ne_01
            number = int(subject.removeprefix("s"))
            clips.append((f"s{number}", f"s{number}_{clip.split('_', 1)[1]}", emotion))
    return clips


def _emotions(db: str, labels: list[str], rng: np.random.Generator) -> list[str]:
    """A source emotion per CSV class; negatives dealt in the real file's proportions (exactly them when the counts match)."""
    if db == "smic":
        return labels
    names, counts = list(NEGATIVE[db]), list(NEGATIVE[db].values())
    n = labels.count("negative")
    if n == sum(counts):
        pool = [name for name, count in zip(names, counts, strict=True) for _ in range(count)]
        negatives = [pool[j] for j in rng.permutation(n)]
    else:
        weights = np.array(counts, dtype=float)
        negatives = [names[j] for j in rng.choice(len(names), size=n, p=weights / weights.sum())]
    dealt = iter(negatives)
    return [next(dealt) if label == "negative" else OTHER_CLASSES[db][label] for label in labels]
