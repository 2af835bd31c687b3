"""``mer4d run``."""

from __future__ import annotations

import click

from mer4d.cli.options import overrides_option, profile_option


@click.command()
@click.argument("recipe")
@overrides_option
@profile_option
@click.option("--resume", "resume", metavar="RUN_ID", default=None, help="Continue a crashed or killed run from its last finished fold.")
@click.option("--seeds", "seeds", metavar="S1,S2,...", default=None,
              help="Run the whole protocol once per seed (e.g. 0,1,2), inside one repeats run holding mean, sd and a subject-bootstrap "
                   "interval; replaces the recipe's repeats:. One seed = a plain run with that seed.")
@click.option("--control", type=click.Choice(["none", "shuffled"]), default=None,
              help="shuffled: permute the labels of each fold's training clips (test labels untouched): the chance-level control, "
                   "reported as its own row (variant control=shuffled). Same as --set control=shuffled.")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr: bars on a terminal, a line per step in a log or pipe.")
def run(recipe: str, overrides: tuple[str, ...], profile: str | None, resume: str | None, seeds: str | None, control: str | None, progress: bool) -> None:
    """Run RECIPE (a path or a name from 'mer4d recipes list') over all folds of its protocol.

    Under 'torchrun --nproc_per_node N -m mer4d run RECIPE' each fold trains data-parallel over
    the N processes; rank 0 alone tracks and prints (see mer4d/train/distributed.py)."""
    import logging

    from mer4d.core.progress import set_enabled
    from mer4d.recipes import load_recipe
    from mer4d.train import distributed

    launched = distributed.env_world()  # the torchrun environment, None for a plain process
    main = launched is None or launched.main
    progress = progress and main  # one process draws the bars and says what happens
    set_enabled(progress)  # every bar of the process, the simulator writers' included
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mer4d").setLevel(logging.INFO if main else logging.WARNING)

    from mer4d.train.repeats import parse_seeds

    chosen = parse_seeds(seeds) if seeds is not None else None
    if control is not None and control != "none":  # an override, so the control is part of the run's variant (its own report row)
        overrides = (*overrides, f"control={control}")
    loaded = load_recipe(recipe, overrides, profile)
    if main:
        click.echo(loaded.banner(), err=True)
    world = distributed.start(loaded.recipe.train.device)
    try:
        _run(loaded, world, chosen, resume, progress)
    finally:
        distributed.stop()


def _run(loaded, world, seeds, resume, progress) -> None:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from mer4d.tracking.mlflow_tracker import MlflowTracker
    from mer4d.tracking.summary import summary_lines
    from mer4d.train.repeats import run_recipe
    from mer4d.train.shared_tracker import SharedTracker

    tracker = MlflowTracker.for_recipe(loaded.recipe) if world.main else None
    if world.parallel:
        batch, low, high = loaded.recipe.train.batch_size, loaded.recipe.train.batch_size // world.size, -(-loaded.recipe.train.batch_size // world.size)
        if world.main:
            share = f"{low}" if low == high else f"{low}-{high}"
            click.echo(f"data-parallel: {world.size} processes ({world.backend}); train.batch_size {batch} is the global batch, "
                       f"{share} clips of it per process", err=True)
        shared = SharedTracker(tracker)
    with logging_redirect_tqdm():
        tracked = run_recipe(loaded, shared if world.parallel else tracker, seeds=seeds, resume=resume, progress=progress)
    if world.main:
        for line in summary_lines(tracked, tracker.uri):
            click.echo(line)
