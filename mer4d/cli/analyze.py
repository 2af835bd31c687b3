"""``mer4d analyze``: analyses of labels and annotations, each logged as a run of the ``analysis`` experiment, and of finished runs (``cam``, stored in the analysed run).

Subcommands are listed in :data:`SUBCOMMANDS` (name -> module, attribute, help) and imported only
when used, like the top-level commands; another module adds one with a line there.
"""

from __future__ import annotations

from pathlib import Path

import click

from mer4d.cli import LazyGroup
from mer4d.cli.data import _params, param_option

SUBCOMMANDS = {
    "labels": ("mer4d.cli.analyze", "labels", "AU occurrence and combinations per emotion, and consistency with the 4DME AU -> emotion rules."),
    "agreement": ("mer4d.cli.analyze", "agreement_", "Fleiss' kappa (Cohen's for two raters) of a raters' CSV."),
    "cam": ("mer4d.cli.analyze_cam", "cam", "Grad-CAM of a run's fold models on their own test clips, averaged per AU and emotion, into the run."),
}

uri_option = click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
experiment_option = click.option("--experiment", default="analysis", show_default=True, help="MLflow experiment of the analysis run.")


class LazySubcommands(LazyGroup):
    table = SUBCOMMANDS


@click.group(cls=LazySubcommands)
def analyze() -> None:
    """Analyses of a dataset's labels and annotations (markdown here, tables and figures in MLflow experiment 'analysis') and of finished runs (cam, stored in the run)."""


def _logged(record, uri: str | None, experiment: str) -> None:
    from mer4d.analysis.logging import log_analysis

    run_id, where = log_analysis(record, uri, experiment)
    click.echo(f"\nlogged run {run_id} to experiment '{experiment}' at {where}")


@click.command()
@click.option("--dataset", "name", required=True, metavar="NAME", help="Registered dataset (mer4d data list).")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="The dataset's folder; absent -> the dataset's built-in simulator (generated once into the cache).")
@click.option("--kind", type=click.Choice(["micro", "macro", "all"]), default="micro", show_default=True, help="Which clips: micro- or macro-expressions, or all.")
@click.option("--labels", default=None, metavar="SCHEME", help="A label scheme of the dataset (mer4d data list), e.g. megc2019; default its own labels.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="AU combinations shown per emotion.")
@click.option("--sim-size", default="quick", show_default=True, help="Simulator size when no --root (quick, published/full).")
@click.option("--sim-seed", type=click.IntRange(min=0), default=0, show_default=True, help="Simulator seed when no --root.")
@param_option
@uri_option
@experiment_option
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr (the simulator's, when it has to generate its dataset).")
def labels(name: str, root: Path | None, kind: str, labels: str | None, top: int, sim_size: str, sim_seed: int, params: tuple[str, ...],
           uri: str | None, experiment: str, progress: bool) -> None:
    """AU occurrence per emotion (sides merged and kept), frequent AU combinations, and how the labels agree with the 4DME rules."""
    from mer4d.analysis.labels_report import analyze_labels, labels_markdown, labels_record
    from mer4d.analysis.source import label_index
    from mer4d.core.progress import set_enabled

    set_enabled(progress)
    source = label_index(name, root, params=_params(params), kind=kind, labels=labels, simulator_size=sim_size, simulator_seed=sim_seed)
    analysis = analyze_labels(source, top)
    markdown = labels_markdown(analysis)
    click.echo(markdown)
    _logged(labels_record(analysis, markdown), uri, experiment)


@click.command("agreement")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@uri_option
@experiment_option
def agreement_(file: Path, uri: str | None, experiment: str) -> None:
    """Agreement of the raters in FILE: one row per item, the item id first, then one column per rater (docs/analysis.md)."""
    from mer4d.analysis.agreement_report import agreement, agreement_markdown, agreement_record
    from mer4d.analysis.raters import read_raters

    result = agreement(read_raters(file))
    markdown = agreement_markdown(result)
    click.echo(markdown)
    _logged(agreement_record(result, markdown), uri, experiment)
