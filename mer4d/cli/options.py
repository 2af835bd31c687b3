"""Options shared by several subcommands."""

from __future__ import annotations

import click

overrides_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe value, e.g. --set train.epochs=5 (repeatable)."
)
profile_option = click.option(
    "--profile",
    default=None,
    metavar="NAME",
    help="Apply a named profile of the recipe ('quick', ...), or 'published' for the paper settings. "
    "Default: 'quick' when no dataset.root is given, else published.",
)
