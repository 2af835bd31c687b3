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
    """Run RECIPE (a path or a name from 'mer4d recipes list') over all folds of its protocol."""
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    from mer4d.core.progress import set_enabled
    from mer4d.recipes import load_recipe

    set_enabled(progress)  # every bar of the process, the simulator writers' included
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mer4d").setLevel(logging.INFO)

    from mer4d.train.repeats import parse_seeds

    chosen = parse_seeds(seeds) if seeds is not None else None
    if control is not None and control != "none":  # an override, so the control is part of the run's variant (its own report row)
        overrides = (*overrides, f"control={control}")
    loaded = load_recipe(recipe, overrides, profile)
    click.echo(loaded.banner(), err=True)
    from mer4d.tracking.mlflow_tracker import MlflowTracker
    from mer4d.tracking.summary import summary_lines
    from mer4d.train.repeats import run_recipe

    tracker = MlflowTracker.for_recipe(loaded.recipe)
    with logging_redirect_tqdm():
        tracked = run_recipe(loaded, tracker, seeds=chosen, resume=resume, progress=progress)
    for line in summary_lines(tracked, tracker.uri):
        click.echo(line)
