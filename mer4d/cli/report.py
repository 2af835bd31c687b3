"""``mer4d report``."""

from __future__ import annotations

import click


@click.command()
@click.option("--experiment", "experiments", multiple=True, help="Only these MLflow experiments (repeatable).")
@click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
@click.option("--per-class", is_flag=True, help="Add per-class F1 and accuracy columns (4DME Tables 6-8 layout).")
def report(experiments: tuple[str, ...], uri: str | None, per_class: bool) -> None:
    """Print a markdown table of the newest finished run of each recipe and --set variant."""
    from mer4d.tracking.report import latest_runs, markdown_table

    click.echo(markdown_table(latest_runs(uri, list(experiments) or None, per_class=per_class)))
