"""``mer4d report --compare RUN_A RUN_B``: is A better than B on the same clips?

Both runs' pooled predictions (``predictions.csv`` on the run; a repeats run's holds every seed,
with a ``seed`` column) must cover the same clips (and, for repeats runs, the same seeds): clip c of
seed s of A is paired with clip c of seed s of B. Two numbers answer the question:

- a paired permutation test of the headline metric itself (UF1, or macro F1;
  :func:`mer4d.metrics.paired.paired_metric_permutation_test`, 10 000 permutations, seeded): each
  permutation swaps A's and B's predictions of whole subjects and recomputes both runs' metric.
  The verdict reads this test, so it and the interval below speak of the same number;
- the same subject swaps as a sign-flip test on a per-clip score (:func:`~mer4d.metrics.paired.paired_permutation_test`): 1/0 correctness for single-label tasks; for multi-label tasks the clip's
  mean label accuracy (the share of its K labels predicted right; its mean over clips is macro
  accuracy; chosen over exact match, which is 0 for nearly every clip of a hard multi-label task
  and so tests almost nothing). Signs flip per subject, all its clips and seeds together;
- the headline metric (UF1, or macro F1) of each run (mean over seeds), their difference and a
  95 % paired subject-bootstrap interval of it (the same subject draws for A and B).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import TrackingError
from mer4d.metrics import bootstrap
from mer4d.metrics.paired import PERMUTATIONS, PermutationResult, paired_metric_permutation_test, paired_permutation_test
from mer4d.tracking.store import open_client, tracking_uri
from mer4d.train.evidence import table_counts
from mer4d.train.targets import MULTILABEL_TASKS, table_metrics

TEXT_COLUMNS = ("clip_id", "subject", "fold", "truth", "prediction")
ALPHA = 0.05


@dataclass(frozen=True)
class RunPredictions:
    run_id: str
    name: str  # recipe [variant] (profile)
    task: str
    classes: tuple[str, ...]
    table: pd.DataFrame  # with a ``seed`` column (0 for a plain run's own seed)
    seeds: list[int] | None  # a repeats run's seeds, None for a plain run


@dataclass(frozen=True)
class Comparison:
    a: RunPredictions
    b: RunPredictions
    headline: str
    value_a: float
    value_b: float
    difference: float
    ci: tuple[float, float]
    test: PermutationResult  # the per-clip score's sign-flip test
    per_clip: str  # what that test compares per clip
    metric_test: PermutationResult  # the headline metric's subject-swap test, which the verdict reads


def resolve_run(client, text: str):
    """The run whose id is ``text`` or starts with it (the report prints 8-character prefixes)."""
    from mlflow.exceptions import MlflowException

    text = text.strip()
    if len(text) == 32:
        try:
            return client.get_run(text)
        except MlflowException:
            raise TrackingError(f"--compare: no run {text} in the store {client.tracking_uri}") from None
    if len(text) < 4:
        raise TrackingError(f"--compare: run id prefix {text!r} is too short; give at least 4 characters (the report prints 8)")
    found = []
    for exp in client.search_experiments():
        found += [r for r in client.search_runs([exp.experiment_id], max_results=50_000) if r.info.run_id.startswith(text)]
    if not found:
        raise TrackingError(f"--compare: no run id starts with {text!r} in the store {client.tracking_uri}")
    top = [r for r in found if "mlflow.parentRunId" not in r.data.tags] or found
    if len(top) > 1:
        listed = ", ".join(f"{r.info.run_id} ({r.data.tags.get('mer4d.recipe', r.info.run_name)})" for r in top[:5])
        raise TrackingError(f"--compare: {text!r} matches {len(top)} runs ({listed}); give more characters of the id")
    return top[0]


def load_predictions(client, run) -> RunPredictions:
    run_id = run.info.run_id
    tags = run.data.tags
    if run.info.status != "FINISHED":
        raise TrackingError(f"--compare: run {run_id} is {run.info.status}; compare finished runs only")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            table = pd.read_csv(Path(client.download_artifacts(run_id, "predictions.csv", tmp)), keep_default_na=False, dtype={c: str for c in TEXT_COLUMNS})
    except Exception as exc:  # noqa: BLE001 - MLflow raises several kinds for a missing artifact
        raise TrackingError(f"--compare: run {run_id} has no predictions.csv (fold runs keep theirs under fold/; name the run mer4d report lists): "
                            f"{str(exc).splitlines()[0][:200]}") from None
    task = run.data.params.get("dataset.task", "emotion")
    classes = tuple(c[len("score_"):] for c in table.columns if c.startswith("score_"))
    seeds = None
    if "seed" in table:
        seeds = sorted(int(s) for s in table["seed"].unique())
    else:
        table.insert(0, "seed", int(run.data.params.get("seed", 0) or 0))
    variant, profile = tags.get("mer4d.variant", ""), tags.get("mer4d.profile", "")
    name = tags.get("mer4d.recipe", run.info.run_name or run_id) + (f" [{variant}]" if variant else "") + (f" ({profile})" if profile else "")
    return RunPredictions(run_id, name, task, classes, table, seeds)


def check_pairable(a: RunPredictions, b: RunPredictions) -> None:
    """Same task, classes, seeds and clips, or a TrackingError naming what differs."""
    ids = f"A={a.run_id[:8]}, B={b.run_id[:8]}"
    if a.task != b.task:
        raise TrackingError(f"--compare ({ids}): the runs solve different tasks ({a.task} vs {b.task})")
    if a.classes != b.classes:
        raise TrackingError(f"--compare ({ids}): the runs use different class sets: {list(a.classes)} vs {list(b.classes)}")
    if (a.seeds is None) != (b.seeds is None):
        which = "A" if a.seeds is not None else "B"
        raise TrackingError(f"--compare ({ids}): {which} is a repeats run (seeds {a.seeds or b.seeds}) and the other a single run; "
                            "compare a repeats run with a repeats run of the same seeds, or single runs with single runs")
    if a.seeds is not None and a.seeds != b.seeds:
        raise TrackingError(f"--compare ({ids}): the repeats runs have different seeds: A {a.seeds}, B {b.seeds}; pairing needs the same seeds")
    keys_a = set(zip(a.table["seed"], a.table["clip_id"], strict=True))
    keys_b = set(zip(b.table["seed"], b.table["clip_id"], strict=True))
    if len(keys_a) != len(a.table) or len(keys_b) != len(b.table):
        raise TrackingError(f"--compare ({ids}): a run's predictions hold some clip twice for one seed; they cannot be paired")
    if keys_a != keys_b:
        only_a = sorted(keys_a - keys_b)
        only_b = sorted(keys_b - keys_a)

        def show(keys):
            return ", ".join(c if a.seeds is None else f"{c} (seed {s})" for s, c in keys[:5]) + (" ..." if len(keys) > 5 else "")

        raise TrackingError(f"--compare ({ids}): the runs were tested on different clips: {len(only_a)} only in A ({show(only_a) or 'none'}), "
                            f"{len(only_b)} only in B ({show(only_b) or 'none'}); compare runs of the same dataset and protocol")


def per_clip_score(table: pd.DataFrame, task: str, classes: tuple[str, ...]) -> np.ndarray:
    if task in MULTILABEL_TASKS:
        truth = table[[f"true_{c}" for c in classes]].to_numpy()
        pred = table[[f"pred_{c}" for c in classes]].to_numpy()
        return (truth == pred).mean(axis=1)
    return (table["truth"].to_numpy() == table["prediction"].to_numpy()).astype(np.float64)


def compare_predictions(a: RunPredictions, b: RunPredictions, permutations: int = PERMUTATIONS, replicates: int = bootstrap.REPLICATES,
                        seed: int = 0) -> Comparison:
    check_pairable(a, b)
    table_a = a.table.sort_values(["seed", "clip_id"], kind="stable").reset_index(drop=True)
    table_b = b.table.sort_values(["seed", "clip_id"], kind="stable").reset_index(drop=True)
    if not (table_a["truth"].to_numpy() == table_b["truth"].to_numpy()).all():
        bad = table_a.loc[table_a["truth"].to_numpy() != table_b["truth"].to_numpy(), "clip_id"].tolist()
        raise TrackingError(f"--compare: the runs disagree on the true labels of {len(bad)} clips (e.g. {bad[:3]}); were they run with other label settings?")
    multilabel = a.task in MULTILABEL_TASKS
    headline = "macro_f1" if multilabel else "uf1"
    differences = per_clip_score(table_a, a.task, a.classes) - per_clip_score(table_b, b.task, b.classes)
    test = paired_permutation_test(differences, table_a["subject"].to_numpy(), permutations, seed)
    seeds = sorted(table_a["seed"].unique())
    per_seed_a = [table_a[table_a["seed"] == s] for s in seeds]
    per_seed_b = [table_b[table_b["seed"] == s] for s in seeds]
    value_a = float(np.mean([table_metrics(t, a.classes, a.task)[headline] for t in per_seed_a]))
    value_b = float(np.mean([table_metrics(t, b.classes, b.task)[headline] for t in per_seed_b]))
    counts, score = table_counts([*per_seed_a, *per_seed_b], a.classes, a.task)  # one subject coding for both runs
    draws = bootstrap.cluster_draws(counts[0].shape[0], replicates, seed)
    rep_a = bootstrap.replicates(counts[: len(seeds)], score, draws)[headline]
    rep_b = bootstrap.replicates(counts[len(seeds):], score, draws)[headline]
    ci = bootstrap.percentile_interval(rep_a - rep_b)
    metric_test = paired_metric_permutation_test(counts[: len(seeds)], counts[len(seeds):], score, headline, len(table_a), permutations, seed)
    per_clip = "per-clip mean label accuracy" if multilabel else "per-clip correctness"
    return Comparison(a, b, headline, value_a, value_b, value_a - value_b, ci, test, per_clip, metric_test)


def compare_runs(run_a: str, run_b: str, uri: str | None = None, permutations: int = PERMUTATIONS) -> Comparison:
    client = open_client(tracking_uri(uri))
    a, b = (load_predictions(client, resolve_run(client, text)) for text in (run_a, run_b))
    if a.run_id == b.run_id:
        raise TrackingError(f"--compare: {run_a} and {run_b} are the same run ({a.run_id})")
    return compare_predictions(a, b, permutations)


def verdict(c: Comparison, alpha: float = ALPHA) -> str:
    t = c.metric_test
    label = "UF1" if c.headline == "uf1" else "macro F1"
    if t.p_value >= alpha or t.observed == 0:
        return f"no significant difference in {label} (p={t.p_value:.3g} >= {alpha})"
    winner, loser = ("A", "B") if t.observed > 0 else ("B", "A")
    return f"{winner} beats {loser} in {label} at p={t.p_value:.3g}"


def comparison_lines(c: Comparison) -> list[str]:
    label = "UF1" if c.headline == "uf1" else "macro F1"
    seeds = "1 seed" if c.a.seeds is None else f"{len(c.a.seeds)} seeds ({','.join(map(str, c.a.seeds))})"
    t = c.test
    return [
        f"A {c.a.run_id[:8]}  {c.a.name}: {label} {c.value_a:.4f}",
        f"B {c.b.run_id[:8]}  {c.b.name}: {label} {c.value_b:.4f}",
        f"{label} A - B = {c.difference:+.4f}, 95% CI [{c.ci[0]:+.4f}, {c.ci[1]:+.4f}] (paired subject bootstrap, mean over seeds)",
        f"{label} paired permutation test (A and B swapped per subject, {c.metric_test.permutations} permutations): p = {c.metric_test.p_value:.4g}",
        f"{c.per_clip} A - B = {t.observed:+.4f}; paired permutation test (signs flipped per subject, {t.permutations} permutations): p = {t.p_value:.4g}",
        f"on {t.clips // max(1, (len(c.a.seeds) if c.a.seeds else 1))} clips of {t.clusters} subjects, {seeds}",
        verdict(c),
    ]
