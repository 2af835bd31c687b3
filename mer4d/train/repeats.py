"""Repeats: a recipe's whole protocol once per seed, summarised as mean, sd and a subject-bootstrap interval.

``mer4d run RECIPE --seeds 0,1,2`` or a recipe's ``repeats:`` (``3`` = seeds seed..seed+2, or a
list of seeds) runs :func:`~mer4d.train.experiment.run_experiment` once per seed, each in its
own seed run (a normal run: its recipe has that ``seed`` and no ``repeats``, its folds inside
it), all inside one repeats run that holds the summary:

- for every pooled metric M of the seed runs: ``M_mean`` (also logged as ``M``, so tables that
  read ``uf1`` show the mean), ``M_sd`` (sample sd over seeds, ddof=1) and ``n_seeds``;
- for the headline metrics (ACC / UF1 / UAR, or macro F1 / macro acc / subset acc):
  ``M_ci_low`` / ``M_ci_high``, a 95 % subject-bootstrap interval of the seed mean
  (:mod:`mer4d.train.evidence`): each replicate draws subjects with replacement, scores every
  seed on its predictions of the drawn subjects' clips and averages over seeds;
- the pooled predictions of every seed (``predictions.csv`` with a ``seed`` column), what
  ``mer4d report --compare`` pairs.

One seed (no ``repeats``, or a single seed) is a plain run, exactly as without this module.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import pandas as pd

from mer4d.core.errors import TrackingError
from mer4d.recipes.load import LoadedRecipe
from mer4d.train.evidence import interval_metrics, seed_summary
from mer4d.train.experiment import ExperimentRun, run_experiment
from mer4d.train.tracker import Tracker, ends_on_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepeatsResult:
    seeds: list[int]
    runs: list[ExperimentRun]  # one per seed, in the order of seeds
    classes: tuple[str, ...]
    task: str
    table: pd.DataFrame  # every seed's pooled predictions, with a leading ``seed`` column
    metrics: dict[str, float]  # M, M_mean, M_sd, n_seeds, M_ci_low / M_ci_high


@dataclass(frozen=True)
class RepeatsRun:
    run_id: str
    result: RepeatsResult


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2] (what ``--seeds`` takes); a clear error for anything else."""
    from mer4d.core.errors import RecipeError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise RecipeError(f"--seeds {text!r}: give comma-separated seeds >= 0, e.g. --seeds 0,1,2")
    seeds = [int(p) for p in parts]
    dup = sorted({s for s in seeds if seeds.count(s) > 1})
    if dup:
        raise RecipeError(f"--seeds {text!r}: seed(s) {dup} listed twice; each seed runs once")
    return seeds


def with_seeds(loaded: LoadedRecipe, seeds: list[int] | None) -> LoadedRecipe:
    """``loaded`` with ``--seeds`` applied (they replace the recipe's ``repeats``). One seed becomes
    a plain recipe (``seed`` set, no ``repeats``), so its run is, and resumes as, a normal run."""
    recipe = loaded.recipe
    if seeds is not None:
        recipe = recipe.model_copy(update={"repeats": list(seeds)})
    chosen = recipe.seeds()
    if len(chosen) == 1:
        recipe = recipe.model_copy(update={"seed": chosen[0], "repeats": None})
    return dataclasses.replace(loaded, recipe=recipe)


def seed_recipe(loaded: LoadedRecipe, seed: int) -> LoadedRecipe:
    """The plain recipe of one seed of a repeats run."""
    return dataclasses.replace(loaded, recipe=loaded.recipe.model_copy(update={"seed": seed, "repeats": None}))


def summarise(seeds: list[int], runs: list[ExperimentRun]) -> RepeatsResult:
    """Mean, sd and the subject-bootstrap interval of the seed runs' pooled results."""
    first = runs[0].result
    metrics = seed_summary([r.result.metrics for r in runs])
    metrics |= interval_metrics([r.result.table for r in runs], first.classes, first.task)
    table = pd.concat([r.result.table.assign(seed=s)[["seed", *r.result.table.columns]] for s, r in zip(seeds, runs, strict=True)], ignore_index=True)
    return RepeatsResult(seeds, runs, first.classes, first.task, table, metrics)


def run_repeats(loaded: LoadedRecipe, tracker: Tracker, *, progress: bool = True) -> RepeatsRun:
    """Every seed of ``loaded.recipe.seeds()`` in its own seed run, inside one repeats run of ``tracker``."""
    seeds = loaded.recipe.seeds()
    run_id = tracker.start_repeats(loaded, seeds)
    runs: list[ExperimentRun] = []
    with ends_on_failure(tracker):
        for seed in seeds:
            log.info(f"seed {seed} ({len(runs) + 1}/{len(seeds)})")
            runs.append(run_experiment(seed_recipe(loaded, seed), tracker.seed_tracker(seed), progress=progress))
        result = summarise(seeds, runs)
        tracker.log_repeats(result)
    tracker.finish_run()
    return RepeatsRun(run_id, result)


def run_recipe(loaded: LoadedRecipe, tracker: Tracker, *, seeds: list[int] | None = None, resume: str | None = None,
               progress: bool = True) -> ExperimentRun | RepeatsRun:
    """What ``mer4d run`` does: one plain run, or a repeats run when several seeds are asked for.

    ``resume`` continues a plain run; a repeats run is refused with the state of its seed runs
    (resuming one would need every finished seed's results read back: not supported yet).
    """
    loaded = with_seeds(loaded, seeds)
    if resume:
        stored = tracker.find_run(resume)
        if stored.repeats is not None:
            state = ", ".join(f"seed {s}: {rid[:8]} {status}" for s, (rid, status) in sorted(stored.repeats.items())) or "no seed run started"
            raise TrackingError(f"--resume {resume}: that is a repeats run ({state}); resuming a repeats run is not supported. "
                                "Start it again without --resume (finished seeds are recomputed identically: a fold depends only on seed and fold)")
        if len(loaded.recipe.seeds()) > 1:
            raise TrackingError(f"--resume {resume}: that is a plain run, but this command asks for seeds {loaded.recipe.seeds()}; "
                                "resume it without --seeds (and without a recipe repeats: setting)")
        return run_experiment(loaded, tracker, resume=resume, progress=progress)
    if len(loaded.recipe.seeds()) > 1:
        return run_repeats(loaded, tracker, progress=progress)
    return run_experiment(loaded, tracker, progress=progress)
