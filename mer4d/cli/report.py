"""``mer4d report``."""

from __future__ import annotations

import click


@click.command()
@click.option("--experiment", "experiments", multiple=True, help="Only these MLflow experiments (repeatable).")
@click.option("--uri", default=None, help="Tracking URI; default MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db.")
@click.option("--per-class", is_flag=True, help="Add per-class F1 and accuracy columns (4DME Tables 6-8 layout).")
@click.option("--tables", type=click.Choice(["4dme", "dfme", "moext"]), is_flag=False, flag_value="4dme", default=None,
              help="A paper's tables: 4dme (the default: Table 5 AU detection and Table 6 emotions, F1 / accuracy per class), dfme (Tables VII, "
                   "VIII, IX and XI: ACC / UF1 / UAR) or moext (the MEGC2019 table and MoExt's Table 7 ablations on the composite).")
@click.option("--megc2019", "megc", is_flag=True, help="Print the MEGC2019 table: UF1 / UAR on the composite, CASME II, SAMM and SMIC.")
@click.option("--compare", "compare", nargs=2, metavar="RUN_A RUN_B", default=None,
              help="Paired test of two runs on the same clips (ids or 8-character prefixes): headline metric difference with a "
                   "subject-bootstrap 95%% CI, and a subject sign-flip permutation test on per-clip correctness.")
def report(experiments: tuple[str, ...], uri: str | None, per_class: bool, tables: str | None, megc: bool, compare: tuple[str, str] | None) -> None:
    """Print a markdown table of the newest finished run of each recipe and --set variant."""
    from mer4d.tracking.report import (
        EVIDENCE_METRICS,
        PAPER_TABLES,
        evidence_table,
        latest_runs,
        markdown_table,
        megc2019_table,
        paper_table,
    )

    if compare:
        from mer4d.tracking.compare import compare_runs, comparison_lines

        for line in comparison_lines(compare_runs(*compare, uri=uri)):
            click.echo(line)
        return
    if tables == "dfme":
        from mer4d.tracking.report_dfme import METRICS, PARAMS, dfme_markdown, dfme_tables

        click.echo("\n" + dfme_markdown(dfme_tables(latest_runs(uri, list(experiments) or None, params=PARAMS, metrics=METRICS))))
        return
    if tables == "moext":
        from mer4d.tracking.report_moext import PARAMS, TAGS, ablation_table

        runs = latest_runs(uri, list(experiments) or None, per_class=True, params=PARAMS, tags=TAGS)
        click.echo("\n### MEGC2019 (composite-database evaluation; UF1 / UAR pooled over all folds of the run's protocol)\n")
        table = megc2019_table(runs)
        click.echo(markdown_table(table) if not table.empty else "_No finished megc2019 run in the store: run recipes/megc2019_moext.yaml._")
        click.echo("\n### MoExt Table 7 layout: ablations on the composite (ACC / UF1 / UAR; the paper's beside them)\n")
        table = ablation_table(runs)
        click.echo(markdown_table(table) if not table.empty else "_No finished megc2019_moext run: see docs/recipes.md (MoExt) for the ablation commands._")
        return
    runs = latest_runs(uri, list(experiments) or None, per_class=per_class or bool(tables) or megc, metrics=EVIDENCE_METRICS)
    if megc:
        table = megc2019_table(runs)
        click.echo("\n### MEGC2019 (composite-database evaluation; UF1 / UAR pooled over all folds of the run's protocol)\n")
        click.echo(markdown_table(table) if not table.empty else "_No finished megc2019 run in the store: run recipes/megc2019_lbptop.yaml._")
        return
    if not tables:
        click.echo(markdown_table(evidence_table(runs)))
        return
    for task, title in PAPER_TABLES.items():
        table = paper_table(runs, task)
        click.echo(f"\n### {title}\n")
        click.echo(markdown_table(table) if not table.empty else f"_No finished dataset.task={task} run in the store: run e.g. recipes/4dme_sca{'_au' if task == 'au' else ''}.yaml._")
