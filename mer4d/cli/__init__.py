"""The ``mer4d`` command: a thin click shell whose subcommands are imported only when used.

``mer4d --help`` imports click and nothing heavy (no torch, no mlflow, no pydantic).
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module, attribute, one-line help shown by --help without importing the module)
COMMANDS = {
    "run": ("mer4d.cli.run", "run", "Run a recipe's evaluation protocol and track it in MLflow."),
    "pretrain": ("mer4d.cli.pretrain", "pretrain", "Run a recipe's pre-training stage (MoExt) as one tracked run."),
    "recipes": ("mer4d.cli.recipes", "recipes", "List recipes or print one resolved."),
    "data": ("mer4d.cli.data", "data", "Write simulated datasets, check real ones, draw contact sheets."),
    "models": ("mer4d.cli.models", "models", "List registered models."),
    "report": ("mer4d.cli.report", "report", "Print a results table of the newest finished runs."),
    "render": ("mer4d.cli.render", "render", "Render a mesh, mesh sequence or 4D clip to view x domain PNGs."),
    "ui": ("mer4d.cli.ui", "ui", "Serve the MLflow UI for the run store on 127.0.0.1."),
    "analyze": ("mer4d.cli.analyze", "analyze", "Analyse labels and annotations (AU tables, 4DME rules, kappa) and runs (Grad-CAM maps)."),
    "server": ("mer4d.cli.server", "server", "A lab's MLflow tracking server on PostgreSQL."),
}


class LazyGroup(click.Group):
    """A click group whose commands (``table``: name -> module, attribute, help) are imported only when run."""

    table: dict[str, tuple[str, str, str]] = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.table:
            return None
        module, attribute, _ = self.table[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.table[name][2]) for name in sorted(self.table)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mer4d")
def cli() -> None:
    """mer4d: micro-expression recognition over 2D, depth and 4D data, with honest protocols.

    Start with 'mer4d run recipes/toy_smoke.yaml', then 'mer4d ui' to browse the runs.
    """


def main() -> None:
    """Entry point: mer4d errors print as one clear message (exit 2), not a traceback."""
    from mer4d.core.errors import Mer4dError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Mer4dError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
