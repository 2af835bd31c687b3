"""``mer4d run``."""

from __future__ import annotations

import click

from mer4d.cli.options import overrides_option, profile_option


@click.command()
@click.argument("recipe")
@overrides_option
@profile_option
@click.option("--resume", "resume", metavar="RUN_ID", default=None, help="Continue a crashed or killed run from its last finished fold.")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr: bars on a terminal, a line per step in a log or pipe.")
def run(recipe: str, overrides: tuple[str, ...], profile: str | None, resume: str | None, progress: bool) -> None:
    """Run RECIPE (a path or a name from 'mer4d recipes list') over all folds of its protocol."""
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    from mer4d.core.progress import set_enabled
    from mer4d.recipes import load_recipe

    set_enabled(progress)  # every bar of the process, the simulator writers' included
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mer4d").setLevel(logging.INFO)

    loaded = load_recipe(recipe, overrides, profile)
    click.echo(loaded.banner(), err=True)
    from mer4d.tracking.mlflow_tracker import MlflowTracker
    from mer4d.tracking.summary import summary_lines
    from mer4d.train.experiment import run_experiment

    tracker = MlflowTracker.for_recipe(loaded.recipe)
    with logging_redirect_tqdm():
        tracked = run_experiment(loaded, tracker, resume=resume, progress=progress)
    for line in summary_lines(tracked, tracker.uri):
        click.echo(line)
