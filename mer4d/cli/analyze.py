"""``mer4d analyze``: analyses of runs and labels (each subcommand in its own module)."""

from __future__ import annotations

import click

from mer4d.cli import analyze_cam


@click.group()
def analyze() -> None:
    """Analyses of finished runs: class activation maps (cam)."""


analyze_cam.add_parser(analyze)
